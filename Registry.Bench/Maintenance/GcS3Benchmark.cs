using System.Diagnostics;
using System.Globalization;
using Amazon.S3;
using Amazon.S3.Model;
using Registry.Bench.Http;
using Registry.Bench.S3;

namespace Registry.Bench.Maintenance;

/// <summary>
/// Issue 18, item 4 on S3: the collection of <see cref="GcBenchmark"/>'s seed (V1 image chains and v2 blob groups,
/// half garbage) on an S3 store against the same seed on files, in one run, and the Go registry's
/// <c>garbage-collect</c> on its own copy in another bucket. The seed is written as files once, collected on a hard-linked
/// copy, and uploaded object by object to the buckets (the layout is the same on both drivers, docs/storage-layout.md).
/// Needs S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (S3_REGION), as <c>layer-s3</c> does.
/// </summary>
public static class GcS3Benchmark
{
    public const string OptionsHelp =
        "[--images 10000] [--blobs 10000] [--chain 10] [--untagged 0.5] [--garbage 0.5] [--layer-bytes 1024] [--upload-parallelism 32] " +
        "[--server-dll PATH] [--go-registry PATH]   (needs S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY)";

    /// <summary>The goal: the collection on S3 within this factor of the same seed's on files.</summary>
    private const double S3OverFileGoal = 2.0;

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("gc-s3", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args, [.. GcSeedShape.Options, "--upload-parallelism", "--server-dll", "--go-registry"], []);
        var shape = GcSeedShape.Parse(options, 10_000);
        var chain = shape.Chain;
        var parallelism = options.GetInt("--upload-parallelism", 32, 1, 1024);
        var dll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));
        var goBinary = options.GetString("--go-registry") ?? GoRegistryPeer.DefaultBinary;
        var oursS3 = LayerS3Benchmark.OptionsFromEnvironment();
        var goS3 = LayerS3Benchmark.OptionsFromEnvironment();

        Console.WriteLine($"gc-s3 benchmark: {shape.Images} V1 images, {shape.Blobs} v2 blobs; S3 at {Environment.GetEnvironmentVariable("S3_ENDPOINT")}");
        Console.WriteLine($"load average {BenchRunner.LoadAverage()}; {BenchRunner.MachineNote}; the S3 server runs on the same machine");
        var seedRoot = Path.Combine(temp, "seed");
        var watch = Stopwatch.StartNew();
        var seed = shape.Write(Path.Combine(seedRoot, "storage"), ct);
        Console.WriteLine($"seeded {seed.V1Images} V1 images ({seed.V1GarbageImages.Count} untagged) and {seed.V2Blobs} v2 blobs " +
                          $"({seed.V2GarbageBlobs.Count} garbage) as files in {watch.Elapsed.TotalSeconds:F1} s");

        using var s3 = Registry.Core.Storage.S3StorageDriver.CreateClient(oursS3);
        var hasGo = seed.V2Blobs > 0 && File.Exists(goBinary);
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = oursS3.Bucket }, ct);
        if (hasGo) await s3.PutBucketAsync(new PutBucketRequest { BucketName = goS3.Bucket }, ct);
        else Console.WriteLine($"no Go registry comparison ({(seed.V2Blobs == 0 ? "no v2 blobs" : goBinary + " not found")})");
        try
        {
            watch.Restart();
            var uploaded = await UploadTreeAsync(s3, Path.Combine(seedRoot, "storage"), oursS3.Bucket, oursS3.Prefix!, "", parallelism, ct);
            if (hasGo) uploaded += await UploadTreeAsync(s3, Path.Combine(seedRoot, "storage"), goS3.Bucket, goS3.Prefix!, "docker", parallelism, ct);
            Console.WriteLine($"uploaded {uploaded} objects in {watch.Elapsed.TotalSeconds:F1} s ({uploaded / watch.Elapsed.TotalSeconds:F0}/s)");

            var s3Environment = LayerS3Benchmark.RegistryEnvironment(oursS3);
            s3Environment["REGISTRY_GC_GRACE_SECONDS"] = "0";
            s3Environment["LOGLEVEL"] = "warn";
            s3Environment["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(temp, "s3-search.db");
            watch.Restart();
            await GcChecks.PullSampleAsync(dll, Path.Combine(temp, "s3-sample"), seed, chain, garbageReadable: true, ct, s3Environment);
            Console.WriteLine($"layout proven on S3: a sample of V1 and v2 tags pulled through the registry in {watch.Elapsed.TotalSeconds:F1} s");

            // The file runs on a hard-linked copy of the seed: neither collector writes into a file, both only unlink.
            var fileRoot = Path.Combine(temp, "files");
            Directory.CreateDirectory(fileRoot);
            await GcBenchmark.RunAsync("cp", ["-al", Path.Combine(seedRoot, "storage"), Path.Combine(fileRoot, "storage")], null, null, ct);
            var fileEnvironment = new Dictionary<string, string>
            {
                ["SETTINGS_FLAVOR"] = "dev",
                ["STORAGE_PATH"] = Path.Combine(fileRoot, "storage"),
                ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(fileRoot, "search.db"),
                ["REGISTRY_GC_GRACE_SECONDS"] = "0",
                ["LOGLEVEL"] = "warn",
            };
            var goConfig = Path.Combine(temp, "go-config.yml");
            await File.WriteAllTextAsync(goConfig, GoRegistryPeer.Config(GoRegistryPeer.S3Storage(goS3), "127.0.0.1:0"), ct);

            var rows = new List<GcBenchmark.Run>
            {
                Named("files", await GcBenchmark.OursAsync(dll, ["gc", "--dry-run"], fileEnvironment, fileRoot, ct)),
                Named("S3", await GcBenchmark.OursAsync(dll, ["gc", "--dry-run"], s3Environment, temp, ct)),
            };
            if (hasGo) rows.Add(Named("S3", await GcBenchmark.GoAsync(goBinary, ["garbage-collect", "--dry-run", goConfig], temp, ct, GoRegistryPeer.S3Unset)));
            rows.Add(Named("files", await GcBenchmark.OursAsync(dll, ["gc"], fileEnvironment, fileRoot, ct)));
            rows.Add(Named("S3", await GcBenchmark.OursAsync(dll, ["gc"], s3Environment, temp, ct)));
            if (hasGo) rows.Add(Named("S3", await GcBenchmark.GoAsync(goBinary, ["garbage-collect", goConfig], temp, ct, GoRegistryPeer.S3Unset)));

            Console.WriteLine();
            Console.WriteLine($"{"run",-44} {"wall s",8} {"own s",8} {"CPU s",8} {"peak RSS MiB",13}  outcome");
            foreach (var r in rows)
                Console.WriteLine($"{r.Name,-44} {r.Wall.TotalSeconds,8:F1} {(r.Own is { } own ? own.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) : "-"),8} {r.Cpu.TotalSeconds,8:F1} {r.PeakRssKiB / 1024.0,13:F0}  {r.Outcome}");
            var (dryFile, dryS3) = (rows[0], rows[1]);
            var (realFile, realS3) = (rows[hasGo ? 3 : 2], rows[hasGo ? 4 : 3]);
            Console.WriteLine($"S3 / files (goal <= {S3OverFileGoal:F1}x): dry run {Own(dryS3) / Own(dryFile):F2}x, real run {Own(realS3) / Own(realFile):F2}x");
            if (hasGo)
                Console.WriteLine($"ours / Go on S3: dry run wall {dryS3.Wall / rows[2].Wall:F2}x, CPU {dryS3.Cpu / rows[2].Cpu:F2}x; " +
                                  $"real wall {realS3.Wall / rows[5].Wall:F2}x, CPU {realS3.Cpu / rows[5].Cpu:F2}x (ours also collects V1)");
            Console.WriteLine($"load average {BenchRunner.LoadAverage()}");

            var left = await LeftAsync(s3, oursS3.Bucket, oursS3.Prefix!, seed, ct);
            Console.WriteLine($"ours on S3 after: V1 kept {left.V1Kept}/{seed.V1Images - seed.V1GarbageImages.Count}, garbage left {left.V1Garbage}/{seed.V1GarbageImages.Count}; " +
                              $"v2 kept {left.V2Kept}/{left.V2KeptTotal}, garbage blobs left {left.V2Garbage}/{seed.V2GarbageBlobs.Count}, " +
                              $"garbage links left {left.Links}/{seed.V2GarbageLinks.Count}");
            if (left.V1Kept != seed.V1Images - seed.V1GarbageImages.Count || left.V1Garbage != 0 || left.V2Kept != left.V2KeptTotal || left.V2Garbage != 0)
                throw new ServerNotFunctionalException("the collection on S3 kept garbage or lost something referenced");
            if (hasGo)
            {
                var go = await LeftAsync(s3, goS3.Bucket, goS3.Prefix!, seed, ct);
                Console.WriteLine($"Go on S3 after:   v2 kept {go.V2Kept}/{go.V2KeptTotal}, garbage blobs left {go.V2Garbage}/{seed.V2GarbageBlobs.Count}, " +
                                  $"garbage links left {go.Links}/{seed.V2GarbageLinks.Count}");
            }
            watch.Restart();
            await GcChecks.PullSampleAsync(dll, Path.Combine(temp, "s3-sample-after"), seed, chain, garbageReadable: false, ct, s3Environment);
            Console.WriteLine($"after the collection on S3 the sample pulls again and garbage answers 404 ({watch.Elapsed.TotalSeconds:F1} s)");
        }
        finally
        {
            await LayerS3Benchmark.EmptyBucketAsync(s3, oursS3.Bucket, ct);
            await s3.DeleteBucketAsync(oursS3.Bucket, ct);
            if (hasGo)
            {
                await LayerS3Benchmark.EmptyBucketAsync(s3, goS3.Bucket, ct);
                await s3.DeleteBucketAsync(goS3.Bucket, ct);
            }
        }
    });

    private static GcBenchmark.Run Named(string storage, GcBenchmark.Run run) => run with { Name = $"{run.Name} ({storage})" };

    /// <summary>The collector's own duration when it reports one (ours), else the process's wall time.</summary>
    private static double Own(GcBenchmark.Run run) => (run.Own ?? run.Wall).TotalSeconds;

    /// <summary>Uploads the files under <paramref name="root"/>/<paramref name="under"/> as objects <c>prefix/relative path</c>; returns how many.</summary>
    private static async Task<int> UploadTreeAsync(IAmazonS3 s3, string root, string bucket, string prefix, string under, int parallelism, CancellationToken ct)
    {
        var files = Directory.EnumerateFiles(Path.Combine(root, under), "*", SearchOption.AllDirectories).ToList();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct }, async (file, token) =>
            await s3.PutObjectAsync(new PutObjectRequest
            {
                BucketName = bucket,
                Key = prefix + "/" + Path.GetRelativePath(root, file).Replace('\\', '/'),
                FilePath = file,
            }, token));
        return files.Count;
    }

    private sealed record Left(int V1Kept, int V1Garbage, int V2Kept, int V2KeptTotal, int V2Garbage, int Links);

    /// <summary>What is left in the bucket, counted as <see cref="GcChecks"/> counts it on disk.</summary>
    private static async Task<Left> LeftAsync(IAmazonS3 s3, string bucket, string prefix, GcSeedResult seed, CancellationToken ct)
    {
        var keys = new List<string>();
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix + "/" };
        do
        {
            var page = await s3.ListObjectsV2Async(request, ct);
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key[(prefix.Length + 1)..]));
            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);

        var present = keys.ToHashSet(StringComparer.Ordinal);
        // Every "directory" that holds an object: a V1 image, a blob, a link.
        var directories = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
            for (var slash = key.IndexOf('/'); slash >= 0; slash = key.IndexOf('/', slash + 1)) directories.Add(key[..slash]);

        var garbageImages = seed.V1GarbageImages.ToHashSet(StringComparer.Ordinal);
        var images = directories.Where(d => d.StartsWith("images/", StringComparison.Ordinal) && d.IndexOf('/', 7) < 0).Select(d => d[7..]).ToList();
        var kept = seed.V2Tagged.SelectMany(t => t.Blobs.Prepend(t.Manifest)).ToList();
        return new Left(
            images.Count(i => !garbageImages.Contains(i)),
            images.Count(garbageImages.Contains),
            kept.Count(d => present.Contains(GcSeed.BlobDir(d) + "/data")),
            kept.Count,
            seed.V2GarbageBlobs.Count(d => directories.Contains(GcSeed.BlobDir(d))),
            seed.V2GarbageLinks.Count(l => directories.Contains(l.Replace('\\', '/'))));
    }
}
