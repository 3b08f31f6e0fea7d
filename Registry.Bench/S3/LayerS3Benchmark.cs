using System.Globalization;
using Amazon.S3.Model;
using Registry.Bench.Http;
using Registry.Core.Storage;

namespace Registry.Bench.S3;

/// <summary>
/// Layer push and pull through the registry on S3 next to the same registry on the file driver, measured in the
/// same run (interleaved rounds), plus each server's peak RSS while a layer streams through it. The S3 store is
/// taken from S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (and S3_REGION), as exported by the Ceph RGW helper of
/// shared/testing-services.md; a fresh bucket is created and emptied afterwards.
/// </summary>
internal static class LayerS3Benchmark
{
    public const string OptionsHelp = "[--size-mib 512] [--rounds 2] [--server-dll PATH] [--out FILE]   (needs S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY)";

    private const long WarmupBytes = 16L << 20;
    private const int WarmupRoundTrips = 3;

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("layer-s3", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args, ["--size-mib", "--rounds", "--server-dll", "--out"], []);
        var sizeMib = options.GetInt("--size-mib", 512, 1, 1 << 20);
        var rounds = options.GetInt("--rounds", 2, 1, 99);
        var dll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));
        var endpoint = new Uri(Required("S3_ENDPOINT"));
        var s3 = OptionsFromEnvironment();

        Console.WriteLine($"layer-s3 benchmark: {sizeMib} MiB layer, {rounds} interleaved rounds, S3 at {endpoint} bucket {s3.Bucket}");
        Console.WriteLine($"machine: {BenchRunner.MachineNote}; the S3 server runs on the same machine");

        using var client = S3StorageDriver.CreateClient(s3);
        await client.PutBucketAsync(new PutBucketRequest { BucketName = s3.Bucket }, ct);
        try
        {
            await using var fileServer = await ServerLauncher.StartRegistryAsync(dll, Path.Combine(temp, "file"), ct);
            await using var s3Server = await ServerLauncher.StartRegistryAsync(dll, Path.Combine(temp, "s3"), ct, RegistryEnvironment(s3));
            using var fileClient = NewClient(fileServer);
            using var s3Client = NewClient(s3Server);
            var targets = new List<(string Name, LayerTarget Target)>
            {
                ("file", new RegistryLayerTarget(fileServer, fileClient)),
                ("s3", new RegistryLayerTarget(s3Server, s3Client)),
            };
            var uploads = targets.ToDictionary(t => t.Name, _ => new List<double>());
            var downloads = targets.ToDictionary(t => t.Name, _ => new List<double>());
            var maxRss = targets.ToDictionary(t => t.Name, _ => 0.0);

            foreach (var (name, target) in targets)
            {
                for (var i = 0; i < WarmupRoundTrips; i++) await target.RoundTripAsync(WarmupBytes, seed: (ulong)(1000 + i), ct);
                await target.Server.WaitUntilQuietAsync(ct);
                Console.WriteLine($"  warm-up ok: {name} (pid {target.Server.Pid}), idle RSS {target.Server.Sample().RssBytes / 1e6:F1} MB");
            }
            await EmptyBucketAsync(client, s3.Bucket, ct);

            var size = (long)sizeMib << 20;
            for (var round = 1; round <= rounds; round++)
            {
                // Alternating order, so neither driver always runs on the other's dirty page cache.
                var order = round % 2 == 1 ? targets : Enumerable.Reverse(targets).ToList();
                foreach (var (name, target) in order)
                {
                    var sampler = new RssSampler(target.Server.Pid);
                    (TransferResult Upload, TransferResult Download) result;
                    await using (sampler)
                    {
                        result = await target.RoundTripAsync(size, seed: (ulong)(round * 10 + targets.FindIndex(t => t.Name == name)), ct);
                    }
                    uploads[name].Add(result.Upload.MegabytesPerSecond);
                    downloads[name].Add(result.Download.MegabytesPerSecond);
                    maxRss[name] = Math.Max(maxRss[name], sampler.MaxBytes / 1e6);
                    Console.WriteLine($"  round {round} {name}: upload {result.Upload.MegabytesPerSecond:F1} MB/s, " +
                                      $"download {result.Download.MegabytesPerSecond:F1} MB/s, max RSS {sampler.MaxBytes / 1e6:F1} MB");
                }
                // RGW keeps objects in RAM (memstore): drop the round's layer before the next one.
                await EmptyBucketAsync(client, s3.Bucket, ct);
            }

            var report = new
            {
                Machine = BenchRunner.MachineNote,
                SizeMib = sizeMib,
                Rounds = rounds,
                S3Endpoint = endpoint.ToString(),
                PartSizeMib = S3StorageDriver.PartSize >> 20,
                MaxPartsInMemory = S3StorageDriver.MaxPartsInMemory,
                Drivers = targets.Select(t => new
                {
                    Driver = t.Name,
                    UploadMbPerSecond = BenchRunner.Median(uploads[t.Name]),
                    DownloadMbPerSecond = BenchRunner.Median(downloads[t.Name]),
                    UploadRoundsMbPerSecond = uploads[t.Name],
                    DownloadRoundsMbPerSecond = downloads[t.Name],
                    MaxRssMb = maxRss[t.Name],
                }).ToList(),
            };
            Console.WriteLine();
            Console.WriteLine($"Layer push/pull through the registry, {sizeMib} MiB, median of {rounds} rounds (MB = 10^6 bytes)");
            Console.WriteLine($"  {"",-40}{"file",10}{"s3",10}");
            Row("upload MB/s", BenchRunner.Median(uploads["file"]), BenchRunner.Median(uploads["s3"]));
            Row("download MB/s", BenchRunner.Median(downloads["file"]), BenchRunner.Median(downloads["s3"]));
            Row("server max RSS during push+pull, MB", maxRss["file"], maxRss["s3"]);
            Console.WriteLine($"  s3 uploads hold at most {S3StorageDriver.MaxPartsInMemory} parts of {S3StorageDriver.PartSize >> 20} MiB per layer in memory");
            await BenchRunner.WriteReportAsync(options.GetString("--out"), report, ct);
        }
        finally
        {
            await EmptyBucketAsync(client, s3.Bucket, CancellationToken.None);
            await client.DeleteBucketAsync(s3.Bucket, CancellationToken.None);
        }
    });

    private static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new BenchUsageException($"{variable} is not set: start an S3 store first (e.g. ceph_s3_start of shared/testing-services.md)");

    /// <summary>A fresh bucket name (not created yet) on the S3 store of S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION.</summary>
    internal static S3StorageOptions OptionsFromEnvironment()
    {
        var endpoint = new Uri(Required("S3_ENDPOINT"));
        return new S3StorageOptions
        {
            Bucket = "bench-" + Guid.NewGuid().ToString("N")[..12],
            Region = Environment.GetEnvironmentVariable("S3_REGION") is { Length: > 0 } region ? region : null,
            AccessKey = Required("S3_ACCESS_KEY"),
            SecretKey = Required("S3_SECRET_KEY"),
            Secure = endpoint.Scheme == "https",
            Host = endpoint.Host,
            Port = endpoint.Port,
            Prefix = "registry",
        };
    }

    /// <summary>The variables that point the registry's s3 flavor at <paramref name="s3"/>.</summary>
    internal static Dictionary<string, string> RegistryEnvironment(S3StorageOptions s3)
    {
        var environment = new Dictionary<string, string>
        {
            ["SETTINGS_FLAVOR"] = "s3",
            ["AWS_BUCKET"] = s3.Bucket,
            ["AWS_KEY"] = s3.AccessKey!,
            ["AWS_SECRET"] = s3.SecretKey!,
            ["AWS_HOST"] = s3.Host!,
            ["AWS_PORT"] = s3.Port!.Value.ToString(CultureInfo.InvariantCulture),
            ["AWS_SECURE"] = s3.Secure ? "true" : "false",
            ["AWS_ENCRYPT"] = "false",
            ["STORAGE_PATH"] = "/" + s3.Prefix,
        };
        if (s3.Region is not null) environment["AWS_REGION"] = s3.Region;
        return environment;
    }

    internal static async Task EmptyBucketAsync(Amazon.S3.IAmazonS3 client, string bucket, CancellationToken ct)
    {
        var request = new ListObjectsV2Request { BucketName = bucket };
        do
        {
            var page = await client.ListObjectsV2Async(request, ct);
            if (page.S3Objects is { Count: > 0 } objects)
                await client.DeleteObjectsAsync(new DeleteObjectsRequest
                {
                    BucketName = bucket,
                    Objects = objects.Select(o => new KeyVersion { Key = o.Key }).ToList(),
                    Quiet = true,
                }, ct);
            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);
    }

    private static HttpClient NewClient(ChildServer server) => new(new SocketsHttpHandler { UseCookies = false })
    {
        BaseAddress = server.BaseAddress,
        Timeout = TimeSpan.FromMinutes(10),
    };

    private static void Row(string label, double file, double s3) =>
        Console.WriteLine($"  {label,-40}{file,10:F1}{s3,10:F1}");
}
