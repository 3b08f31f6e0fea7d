using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Amazon.S3.Model;
using Registry.Bench.Http;
using Registry.Core.Storage;

namespace Registry.Bench.S3;

/// <summary>
/// Our registry and Debian's Go registry (distribution 2.8) on the same S3 store in one run, each in a bucket of its
/// own: a large blob's upload and download rate with each server's peak RSS over the push and pull, 16 image pushes
/// at once, and a full <c>_catalog</c> walk over repositories seeded through each registry's own v2 API. The S3 store
/// comes from S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (and S3_REGION); for Ceph RGW its beast frontend wants
/// <c>tcp_nodelay=1</c>, or every small reply waits ~40 ms for a delayed ACK and both sides measure RGW.
/// </summary>
internal static class S3PeersBenchmark
{
    public const string OptionsHelp = "[--size-mib 512] [--rounds 2] [--repositories 2000] [--pushes 16] [--push-mib 8] [--catalog-rounds 5] " +
                                      "[--no-blob-cache] [--declared-length] [--server-dll PATH] [--go-registry PATH] [--out FILE]   (needs S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY)";

    /// <summary>The goal of issue 18 for each rate (ours over the Go registry's) and the ceiling for peak RSS.</summary>
    private const double RateGoal = 1.2;
    private const double RssCeiling = 1.5;

    private const int SeedParallelism = 8;
    private const int CatalogPageSize = 100;

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("s3-peers", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args,
            ["--size-mib", "--rounds", "--repositories", "--pushes", "--push-mib", "--catalog-rounds", "--server-dll", "--go-registry", "--out"], ["--no-blob-cache", "--declared-length"]);
        var sizeMib = options.GetInt("--size-mib", 512, 1, 1 << 20);
        var rounds = options.GetInt("--rounds", 2, 1, 99);
        var repositories = options.GetInt("--repositories", 2000, 1, 1_000_000);
        var pushes = options.GetInt("--pushes", 16, 1, 1024);
        var pushMib = options.GetInt("--push-mib", 8, 1, 4096);
        var catalogRounds = options.GetInt("--catalog-rounds", 5, 1, 99);
        var blobCacheOff = options.Has("--no-blob-cache");
        // The parallel pushes' layers with a Content-Length (as curl sends a file) instead of chunked (as docker does).
        var declaredLength = options.Has("--declared-length");
        var dll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));
        var goBinary = options.GetString("--go-registry") ?? GoRegistryPeer.DefaultBinary;
        var oursS3 = LayerS3Benchmark.OptionsFromEnvironment();
        var goS3 = LayerS3Benchmark.OptionsFromEnvironment();

        Console.WriteLine($"s3-peers benchmark: {sizeMib} MiB blob x {rounds} rounds, {pushes} parallel pushes of {pushMib} MiB" +
                          $"{(declaredLength ? " with a Content-Length" : "")}, " +
                          $"_catalog over {repositories} repositories; S3 at {Environment.GetEnvironmentVariable("S3_ENDPOINT")}");
        Console.WriteLine($"machine: {BenchRunner.MachineNote}; the S3 server runs on the same machine");

        using var s3 = S3StorageDriver.CreateClient(oursS3);
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = oursS3.Bucket }, ct);
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = goS3.Bucket }, ct);
        try
        {
            // Ours with its local blob cache (blob_cache_path) unless --no-blob-cache: the first pull of a blob comes from S3
            // on both sides, the second from our cache and again from S3 for the Go registry, which has none.
            var oursEnvironment = LayerS3Benchmark.RegistryEnvironment(oursS3);
            if (!blobCacheOff) oursEnvironment["BLOB_CACHE_PATH"] = Path.Combine(temp, "ours-blob-cache");
            await using var ours = await ServerLauncher.StartRegistryAsync(dll, Path.Combine(temp, "ours"), ct, oursEnvironment);
            await using var go = await StartGoAsync(goBinary, Path.Combine(temp, "go"), goS3, ct);
            using var oursClient = BenchPush.NewClient(ours);
            using var goClient = BenchPush.NewClient(go);
            var sides = new[] { new Side("ours", ours, oursClient, oursS3.Bucket), new Side("go", go, goClient, goS3.Bucket) };
            await ReportRssAsync(sides, "idle", ct);

            foreach (var side in sides)
            {
                var seedClock = Stopwatch.StartNew();
                var cpuBefore = side.Server.Sample().CpuTime;
                await SeedAsync(side.Client, repositories, ct);
                side.SeedSeconds = seedClock.Elapsed.TotalSeconds;
                side.SeedCpuSeconds = (side.Server.Sample().CpuTime - cpuBefore).TotalSeconds;
                Console.WriteLine($"  seeded {repositories} repositories into {side.Name}: {side.SeedSeconds:F1} s, server CPU {side.SeedCpuSeconds:F1} s");
            }

            for (var round = 0; round < catalogRounds; round++)
                foreach (var side in round % 2 == 0 ? sides : sides.Reverse())
                {
                    var (seconds, count) = await WalkCatalogAsync(side.Client, ct);
                    if (count < repositories) throw new ServerNotFunctionalException($"{side.Name}: _catalog listed {count} of {repositories} repositories");
                    side.CatalogMs.Add(seconds * 1000);
                }
            foreach (var side in sides) Console.WriteLine($"  _catalog walk (n={CatalogPageSize}) {side.Name}: {string.Join(", ", side.CatalogMs.Select(ms => ms.ToString("F0")))} ms");

            for (var round = 1; round <= 3; round++)
                foreach (var side in round % 2 == 1 ? sides : sides.Reverse())
                {
                    var seconds = await ParallelPushesAsync(side.Client, pushes, (long)pushMib << 20, round, declaredLength, ct);
                    side.PushSeconds.Add(seconds);
                    Console.WriteLine($"  round {round} {side.Name}: {pushes} parallel pushes in {seconds:F2} s");
                }
            await ReportRssAsync(sides, "after the parallel pushes", ct);

            var size = (long)sizeMib << 20;
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var side in round % 2 == 1 ? sides : sides.Reverse())
                {
                    // RGW keeps objects in RAM (memstore): the previous round's blob goes first.
                    await LayerS3Benchmark.EmptyBucketAsync(s3, side.Bucket, ct);
                    await side.Server.WaitUntilQuietAsync(ct);
                    var target = new RegistryV2BlobTarget(side.Server, side.Client);
                    (TransferResult Upload, TransferResult Download) result;
                    var sampler = new RssSampler(side.Server.Pid);
                    await using (sampler)
                    {
                        result = await target.RoundTripAsync(size, seed: (ulong)(7000 + round), ct);
                    }
                    side.Uploads.Add(result.Upload.MegabytesPerSecond);
                    side.Downloads.Add(result.Download.MegabytesPerSecond);
                    side.MaxRssMb = Math.Max(side.MaxRssMb, sampler.MaxBytes / 1e6);
                    // Our cache keeps the first pull's bytes once they are flushed, in the background: wait for that.
                    await side.Server.WaitUntilQuietAsync(ct);
                    var again = await target.DownloadAgainAsync(ct);
                    side.DownloadsAgain.Add(again.MegabytesPerSecond);
                    Console.WriteLine($"  round {round} {side.Name}: upload {result.Upload.MegabytesPerSecond:F1} MB/s, " +
                                      $"download {result.Download.MegabytesPerSecond:F1} MB/s ({result.Download.ServerCpuSecondsPerGib:F2} CPU s/GiB), " +
                                      $"again {again.MegabytesPerSecond:F1} MB/s ({again.ServerCpuSecondsPerGib:F2} CPU s/GiB), max RSS {sampler.MaxBytes / 1e6:F1} MB");
                    side.DownloadCpu.Add(result.Download.ServerCpuSecondsPerGib);
                    side.DownloadAgainCpu.Add(again.ServerCpuSecondsPerGib);
                }
            }

            var (o, g) = (sides[0], sides[1]);
            var rows = new List<(string Label, double Ours, double Go, double Ratio, bool Met)>
            {
                Higher($"upload {sizeMib} MiB, MB/s", BenchRunner.Median(o.Uploads), BenchRunner.Median(g.Uploads)),
                Higher($"download {sizeMib} MiB, first pull, MB/s", BenchRunner.Median(o.Downloads), BenchRunner.Median(g.Downloads)),
                Higher($"download {sizeMib} MiB, pulled again, MB/s", BenchRunner.Median(o.DownloadsAgain), BenchRunner.Median(g.DownloadsAgain)),
                Lower($"{pushes} parallel pushes ({pushMib} MiB), s", BenchRunner.Median(o.PushSeconds), BenchRunner.Median(g.PushSeconds)),
                Lower($"_catalog walk, {repositories} repos, ms", BenchRunner.Median(o.CatalogMs), BenchRunner.Median(g.CatalogMs)),
                Lower($"seeding {repositories} repos, s", o.SeedSeconds, g.SeedSeconds),
            };
            var rss = (Label: $"peak RSS, {sizeMib} MiB push+pull, MB", Ours: o.MaxRssMb, Go: g.MaxRssMb, Ratio: o.MaxRssMb / g.MaxRssMb);

            Console.WriteLine();
            Console.WriteLine($"Both registries on one S3 store, medians (MB = 10^6 bytes); ratio = ours as a multiple of the Go registry's speed; goal >= {RateGoal}x");
            Console.WriteLine($"  {"",-40}{"ours",10}{"go",10}{"ratio",9}");
            foreach (var row in rows)
                Console.WriteLine($"  {row.Label,-40}{row.Ours,10:F1}{row.Go,10:F1}{row.Ratio,8:F2}x {(row.Label.StartsWith("seeding", StringComparison.Ordinal) ? "" : BenchRunner.Verdict(row.Met))}");
            Console.WriteLine($"  {rss.Label,-40}{rss.Ours,10:F1}{rss.Go,10:F1}{rss.Ratio,8:F2}x {BenchRunner.Verdict(rss.Ratio <= RssCeiling)} (ceiling {RssCeiling}x)");
            Console.WriteLine($"  seeding server CPU, s{"",-18}{o.SeedCpuSeconds,10:F1}{g.SeedCpuSeconds,10:F1}");
            Console.WriteLine($"  server CPU s/GiB, first pull{"",-11}{BenchRunner.Median(o.DownloadCpu),10:F2}{BenchRunner.Median(g.DownloadCpu),10:F2}");
            Console.WriteLine($"  server CPU s/GiB, pulled again{"",-9}{BenchRunner.Median(o.DownloadAgainCpu),10:F2}{BenchRunner.Median(g.DownloadAgainCpu),10:F2}");

            await BenchRunner.WriteReportAsync(options.GetString("--out"), new
            {
                Machine = BenchRunner.MachineNote,
                SizeMib = sizeMib,
                Rounds = rounds,
                BlobCache = !blobCacheOff,
                Repositories = repositories,
                Pushes = pushes,
                PushMib = pushMib,
                Rows = rows.Select(r => new { r.Label, r.Ours, r.Go, r.Ratio, r.Met }).ToList(),
                Rss = new { rss.Label, rss.Ours, rss.Go, rss.Ratio, Met = rss.Ratio <= RssCeiling },
                Sides = sides.Select(s => new
                {
                    s.Name, s.Uploads, s.Downloads, s.DownloadsAgain, s.DownloadCpu, s.DownloadAgainCpu, s.PushSeconds, s.CatalogMs, s.SeedSeconds, s.SeedCpuSeconds, s.MaxRssMb,
                }).ToList(),
            }, ct);
        }
        finally
        {
            foreach (var bucket in new[] { oursS3.Bucket, goS3.Bucket })
            {
                await LayerS3Benchmark.EmptyBucketAsync(s3, bucket, CancellationToken.None);
                await s3.DeleteBucketAsync(bucket, CancellationToken.None);
            }
        }
    });

    private static (string, double, double, double, bool) Higher(string label, double ours, double go) => (label, ours, go, ours / go, ours / go >= RateGoal);

    /// <summary>A time: the ratio is the Go registry's time over ours, so above 1 means we are faster.</summary>
    private static (string, double, double, double, bool) Lower(string label, double ours, double go) => (label, ours, go, go / ours, go / ours >= RateGoal);

    private sealed class Side(string name, ChildServer server, HttpClient client, string bucket)
    {
        public string Name { get; } = name;
        public ChildServer Server { get; } = server;
        public HttpClient Client { get; } = client;
        public string Bucket { get; } = bucket;
        public List<double> Uploads { get; } = [];
        public List<double> Downloads { get; } = [];
        public List<double> DownloadsAgain { get; } = [];
        public List<double> DownloadCpu { get; } = [];
        public List<double> DownloadAgainCpu { get; } = [];
        public List<double> PushSeconds { get; } = [];
        public List<double> CatalogMs { get; } = [];
        public double SeedSeconds { get; set; }
        public double SeedCpuSeconds { get; set; }
        public double MaxRssMb { get; set; }
    }

    /// <summary>Each server's RSS once it is quiet: the peak of the 512 MiB rounds counts from there.</summary>
    private static async Task ReportRssAsync(IEnumerable<Side> sides, string when, CancellationToken ct)
    {
        foreach (var side in sides)
        {
            await side.Server.WaitUntilQuietAsync(ct);
            Console.WriteLine($"  RSS {when}, {side.Name}: {side.Server.Sample().RssBytes / 1e6:F1} MB");
        }
    }

    /// <summary>
    /// The Go registry on the S3 store: redirects off (the client would otherwise fetch blobs from RGW itself, which
    /// measures RGW), and AWS_CA_BUNDLE dropped from its environment, on which its S3 driver fails to start.
    /// </summary>
    private static Task<ChildServer> StartGoAsync(string binary, string dataDirectory, S3StorageOptions s3, CancellationToken ct) =>
        GoRegistryPeer.StartWithStorageAsync(binary, dataDirectory, "Go registry (distribution 2.8) on S3", GoRegistryPeer.S3Storage(s3), ct,
            proxyRemoteUrl: null, GoRegistryPeer.S3Unset);

    /// <summary>
    /// <paramref name="count"/> repositories <c>seed/r00000</c>…, each with one tagged image: the first pushes the
    /// config and layer blobs, the others mount them (OCI distribution-spec v1.1, 'Mounting a blob from another
    /// repository') and put the manifest, as a registry mirror or CI fan-out does.
    /// </summary>
    private static async Task SeedAsync(HttpClient client, int count, CancellationToken ct)
    {
        var image = await PushImageAsync(client, "seed/r00000", layerSize: 4096, seed: 1, declaredLength: false, ct);
        await Parallel.ForEachAsync(Enumerable.Range(1, count - 1), new ParallelOptions { MaxDegreeOfParallelism = SeedParallelism, CancellationToken = ct },
            async (i, token) =>
            {
                var repository = $"seed/r{i:D5}";
                foreach (var digest in new[] { image.ConfigDigest, image.LayerDigest })
                {
                    using var mount = await client.PostAsync($"/v2/{repository}/blobs/uploads/?mount={digest}&from=seed/r00000", new ByteArrayContent([]), token);
                    if (mount.StatusCode != HttpStatusCode.Created)
                        throw new ServerNotFunctionalException($"mount into {repository} answered {(int)mount.StatusCode}");
                }
                await PutManifestAsync(client, repository, image.Manifest, token);
            });
    }

    /// <summary>Every page of <c>_catalog</c>, following <c>Link</c>; the walk's wall time and the names listed.</summary>
    private static async Task<(double Seconds, int Count)> WalkCatalogAsync(HttpClient client, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var count = 0;
        string? next = $"/v2/_catalog?n={CatalogPageSize}";
        while (next is not null)
        {
            using var response = await client.GetAsync(next, ct);
            if (response.StatusCode != HttpStatusCode.OK) throw new ServerNotFunctionalException($"GET {next} answered {(int)response.StatusCode}");
            using var body = await System.Text.Json.JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
            count += body.RootElement.GetProperty("repositories").GetArrayLength();
            next = response.Headers.TryGetValues("Link", out var links) ? NextFromLink(links.First()) : null;
        }
        return (clock.Elapsed.TotalSeconds, count);
    }

    /// <summary>The URL of <c>&lt;/v2/_catalog?…&gt;; rel="next"</c>.</summary>
    private static string NextFromLink(string link)
    {
        var start = link.IndexOf('<') + 1;
        var url = link[start..link.IndexOf('>', start)];
        // A path as it is ("/v2/…" would parse as an absolute file: URI on Unix), a full URL as its path and query.
        return url.StartsWith('/') ? url : new Uri(url).PathAndQuery;
    }

    /// <summary><paramref name="pushes"/> images into repositories of their own at once, each with a layer of <paramref name="layerSize"/>; the wall time.</summary>
    private static async Task<double> ParallelPushesAsync(HttpClient client, int pushes, long layerSize, int round, bool declaredLength, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, pushes).Select(i =>
            PushImageAsync(client, $"push/r{round}-{i:D3}", layerSize, seed: (ulong)(round * 1000 + i + 100), declaredLength, ct)));
        return clock.Elapsed.TotalSeconds;
    }

    private sealed record PushedImage(string ConfigDigest, string LayerDigest, byte[] Manifest);

    /// <summary>A config blob, one layer of generated bytes and a schema 2 manifest tagged <c>latest</c>, as docker push sends them.</summary>
    private static async Task<PushedImage> PushImageAsync(
        HttpClient client, string repository, long layerSize, ulong seed, bool declaredLength, CancellationToken ct)
    {
        var config = Encoding.UTF8.GetBytes(
            """{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"seed":""" + $"\"{seed}\"" + "}}}");
        var configDigest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(config));
        await PushSmallBlobAsync(client, repository, config, configDigest, ct);

        var layerDigest = await BenchPush.DigestAsync(layerSize, seed, ct);
        var status = await BenchPush.PushBlobAsync(client, repository, layerSize, seed, layerDigest, ct, declaredLength);
        if (status != HttpStatusCode.Created) throw new ServerNotFunctionalException($"layer push into {repository} answered {(int)status}");

        var manifest = Encoding.UTF8.GetBytes($$"""
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
             "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":{{config.Length}},"digest":"{{configDigest}}"},
             "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{{layerSize}},"digest":"{{layerDigest}}"}]}
            """);
        await PutManifestAsync(client, repository, manifest, ct);
        return new PushedImage(configDigest, layerDigest, manifest);
    }

    private static async Task PushSmallBlobAsync(HttpClient client, string repository, byte[] content, string digest, CancellationToken ct)
    {
        string location;
        using (var post = await client.PostAsync($"/v2/{repository}/blobs/uploads/", new ByteArrayContent([]), ct))
        {
            if (post.StatusCode != HttpStatusCode.Accepted) throw new ServerNotFunctionalException($"POST upload into {repository} answered {(int)post.StatusCode}");
            location = post.Headers.Location!.OriginalString;
        }
        var separator = location.Contains('?') ? '&' : '?';
        using var put = await client.PutAsync($"{location}{separator}digest={Uri.EscapeDataString(digest)}", new ByteArrayContent(content), ct);
        if (put.StatusCode != HttpStatusCode.Created) throw new ServerNotFunctionalException($"blob PUT into {repository} answered {(int)put.StatusCode}");
    }

    private static async Task PutManifestAsync(HttpClient client, string repository, byte[] manifest, CancellationToken ct)
    {
        var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.docker.distribution.manifest.v2+json");
        using var response = await client.PutAsync($"/v2/{repository}/manifests/latest", content, ct);
        if (response.StatusCode != HttpStatusCode.Created)
            throw new ServerNotFunctionalException($"manifest PUT into {repository} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
    }
}
