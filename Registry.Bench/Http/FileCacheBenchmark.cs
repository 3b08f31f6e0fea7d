using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.Bench.Http;

/// <summary>
/// <c>file-cache</c>: V1 pulls of image json and ancestry (what <c>docker pull</c> reads per image) from the local
/// storage, without and with <c>cache_lru</c> on Redis, in the same run; reports requests/s, latencies and the ratio.
/// Starts its own redis-server (no persistence, a random port) unless <c>--redis HOST:PORT</c> names one. With
/// <c>--s3</c> the storage is a fresh bucket of the S3 store in S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (as
/// <c>layer-s3</c> takes it) instead of a local folder.
/// </summary>
internal static class FileCacheBenchmark
{
    public const string OptionsHelp = "[--images 64] [--chain 10] [--seconds 5] [--connections 16] [--redis HOST:PORT] [--server-dll PATH] [--s3]";

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("file-cache", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args, ["--images", "--chain", "--seconds", "--connections", "--redis", "--server-dll"], ["--s3"]);
        var images = options.GetInt("--images", 64, 1, 100_000);
        var chain = options.GetInt("--chain", 10, 1, 1000);
        var seconds = options.GetInt("--seconds", 5, 1, 3600);
        var connections = options.GetInt("--connections", 16, 1, 1024);
        var dll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));
        Console.WriteLine($"file-cache benchmark: GET json + ancestry of {images} images (ancestry {chain} long), {connections} connections, {seconds} s each");
        Console.WriteLine($"machine: {BenchRunner.MachineNote}");

        await using var redis = options.GetString("--redis") is null ? await RedisChild.StartAsync(Path.Combine(temp, "redis"), ct) : null;
        var endpoint = options.GetString("--redis") ?? $"127.0.0.1:{redis!.Port}";
        var colon = endpoint.LastIndexOf(':');

        var data = Path.Combine(temp, "registry");
        var s3 = options.Has("--s3") ? Registry.Bench.S3.LayerS3Benchmark.OptionsFromEnvironment() : null;
        using var s3Client = s3 is null ? null : S3StorageDriver.CreateClient(s3);
        if (s3 is not null) await s3Client!.PutBucketAsync(new Amazon.S3.Model.PutBucketRequest { BucketName = s3.Bucket }, ct);
        IStorageDriver storage = s3 is null ? new FileSystemStorageDriver(Path.Combine(data, "storage")) : new S3StorageDriver(s3Client!, s3);
        Console.WriteLine($"storage: {(s3 is null ? "local folder" : $"S3 bucket {s3.Bucket}")}");
        var ids = await SeedAsync(storage, images, chain);
        var shapes = ids.SelectMany(id => new[] { new LoadShape("json", $"/v1/images/{id}/json"), new LoadShape("ancestry", $"/v1/images/{id}/ancestry") }).ToList();
        var storageEnvironment = s3 is null ? new Dictionary<string, string>() : Registry.Bench.S3.LayerS3Benchmark.RegistryEnvironment(s3);

        try
        {
            var results = new List<(string Name, LoadResult Result)>();
            foreach (var (name, environment) in new[]
                     {
                         ("storage only", new Dictionary<string, string>(storageEnvironment)),
                         ("cache_lru on Redis", new Dictionary<string, string>(storageEnvironment)
                         {
                             ["CACHE_LRU_REDIS_HOST"] = endpoint[..colon],
                             ["CACHE_LRU_REDIS_PORT"] = endpoint[(colon + 1)..],
                         }),
                     })
            {
                await using var server = await ServerLauncher.StartRegistryAsync(dll, data, ct, environment);
                using var client = LoadGenerator.NewClient(server, connections);
                // Warm-up: the JIT, the connection pool and, with Redis, the cache itself (it connects in the background).
                await LoadGenerator.RunAsync(client, shapes, connections, TimeSpan.FromSeconds(2), ct);
                await server.WaitUntilQuietAsync(ct);
                var result = await LoadGenerator.RunAsync(client, shapes, connections, TimeSpan.FromSeconds(seconds), ct);
                if (result.Errors > 0) throw new InvalidOperationException($"{name}: {result.Errors} failed requests, first: {result.FirstError}");
                results.Add((name, result));
                Console.WriteLine($"{name,-20} {result.RequestsPerSecond,9:F0} req/s  p50 {result.P50Ms:F2} ms  p99 {result.P99Ms:F2} ms  ({result.Requests} requests)");
            }
            Console.WriteLine($"ratio with/without Redis: {results[1].Result.RequestsPerSecond / results[0].Result.RequestsPerSecond:F2}x req/s, " +
                              $"p50 {results[1].Result.P50Ms / results[0].Result.P50Ms:F2}x");
        }
        finally
        {
            if (s3 is not null)
            {
                await Registry.Bench.S3.LayerS3Benchmark.EmptyBucketAsync(s3Client!, s3.Bucket, CancellationToken.None);
                await s3Client!.DeleteBucketAsync(s3.Bucket, CancellationToken.None);
            }
        }
    });

    /// <summary>Chains of <paramref name="chain"/> images (json, ancestry, layer, checksum); returns every image id.</summary>
    private static async Task<List<string>> SeedAsync(IStorageDriver storage, int images, int chain)
    {
        var ids = new List<string>();
        var ancestry = new List<string>();
        for (var i = 0; i < images; i++)
        {
            if (i % chain == 0) ancestry.Clear();
            var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            ImageId.TryParse(id, out var imageId);
            var json = ancestry.Count == 0 ? $"{{\"id\":\"{id}\"}}" : $"{{\"id\":\"{id}\",\"parent\":\"{ancestry[0]}\"}}";
            ancestry.Insert(0, id);
            await storage.PutContentAsync(StoragePaths.ImageJson(imageId), Encoding.UTF8.GetBytes(json), CancellationToken.None);
            await storage.PutContentAsync(StoragePaths.ImageLayer(imageId), RandomNumberGenerator.GetBytes(64), CancellationToken.None);
            await storage.PutContentAsync(StoragePaths.ImageAncestry(imageId),
                Encoding.UTF8.GetBytes("[" + string.Join(", ", ancestry.Select(a => $"\"{a}\"")) + "]"), CancellationToken.None);
            await storage.PutContentAsync(StoragePaths.ImageChecksum(imageId), Encoding.UTF8.GetBytes("sha256:" + new string('0', 64)), CancellationToken.None);
            ids.Add(id);
        }
        return ids;
    }

    /// <summary>A redis-server child on 127.0.0.1 without persistence, killed by PID at the end.</summary>
    private sealed class RedisChild(Process process, int port) : IAsyncDisposable
    {
        public int Port => port;

        public static async Task<RedisChild> StartAsync(string directory, CancellationToken ct)
        {
            Directory.CreateDirectory(directory);
            var port = FreePort();
            var info = new ProcessStartInfo("redis-server") { UseShellExecute = false };
            foreach (var arg in new[]
                     {
                         "--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no",
                         "--dir", directory, "--logfile", Path.Combine(directory, "redis.log"),
                     })
            {
                info.ArgumentList.Add(arg);
            }
            var child = new RedisChild(Process.Start(info) ?? throw new InvalidOperationException("cannot start redis-server"), port);
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed < TimeSpan.FromSeconds(10))
            {
                try
                {
                    using var tcp = new TcpClient();
                    await tcp.ConnectAsync("127.0.0.1", port, ct);
                    return child;
                }
                catch (SocketException)
                {
                    await Task.Delay(50, ct);
                }
            }
            await child.DisposeAsync();
            throw new InvalidOperationException($"redis-server did not listen on port {port} within 10 s");
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: false);
                await process.WaitForExitAsync();
            }
            process.Dispose();
        }

        private static int FreePort()
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
