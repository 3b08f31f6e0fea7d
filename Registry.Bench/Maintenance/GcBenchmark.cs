using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Registry.Bench.Http;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.Bench.Maintenance;

/// <summary>
/// <c>gc [--images 10000] [--chain 10] [--untagged 0.5] [--layer-bytes 1024] [--server-dll PATH] [--keep DIR]</c>:
/// seeds a V1 storage through the file driver (chains of images, one tagged repository per chain, a fraction of
/// the chains left untagged as garbage), then times the real <c>gc --dry-run</c> and <c>gc</c> verbs of
/// Registry.V1 (Release build) on it, each as a child process. The figures are the runs' own durations (from
/// their report), beside the wall time including process start.
/// </summary>
public static class GcBenchmark
{
    public const string OptionsHelp = "[--images 10000] [--chain 10] [--untagged 0.5] [--layer-bytes 1024] [--server-dll PATH] [--keep DIR]";

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("gc", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args, ["--images", "--chain", "--untagged", "--layer-bytes", "--server-dll", "--keep"], []);
        var images = options.GetInt("--images", 10_000, 1, int.MaxValue);
        var chain = options.GetInt("--chain", 10, 1, 100_000);
        var untagged = options.GetDouble("--untagged", 0.5, 0, 1);
        var layerBytes = options.GetInt("--layer-bytes", 1024, 0, int.MaxValue);
        var dll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));
        var root = options.GetString("--keep") ?? temp;
        Directory.CreateDirectory(root);

        var storageRoot = Path.Combine(root, "storage");
        var chains = images / chain;
        var untaggedChains = (int)Math.Round(chains * untagged);
        var seedWatch = Stopwatch.StartNew();
        await SeedAsync(new FileSystemStorageDriver(storageRoot), chains, chain, untaggedChains, layerBytes, ct);
        Console.WriteLine($"seeded {chains * chain} images in {chains} chains of {chain} ({untaggedChains} chains untagged, {layerBytes}-byte layers) in {seedWatch.Elapsed.TotalSeconds:F1} s");

        var env = new Dictionary<string, string>
        {
            ["SETTINGS_FLAVOR"] = "dev",
            ["STORAGE_PATH"] = storageRoot,
            ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(root, "search.db"),
            ["REGISTRY_GC_GRACE_SECONDS"] = "0",
        };
        foreach (var verbArgs in new[] { new[] { "gc", "--dry-run" }, ["gc"], ["gc"] })
        {
            var (exit, stdout, stderr, wall) = await RunVerbAsync(dll, verbArgs, env, ct);
            if (exit != 0) throw new ServerNotFunctionalException($"{string.Join(' ', verbArgs)} exited {exit}: {stderr}");
            var lines = stdout.TrimEnd().Split('\n');
            Console.WriteLine($"{string.Join(' ', verbArgs),-12} {lines[^2]} | {lines[^1]} | wall {wall.TotalMilliseconds:F0} ms");
        }
    });

    /// <summary>Writes json, layer, ancestry and _checksum per image and one tag per kept chain, eight writers at a time.</summary>
    private static async Task SeedAsync(IStorageDriver storage, int chains, int length, int untaggedChains, int layerBytes, CancellationToken cancellation)
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, chains), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellation }, async (c, ct) =>
        {
            var ancestry = new List<string>();
            string? parent = null;
            for (var i = 0; i < length; i++)
            {
                var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
                ImageId.TryParse(id, out var imageId);
                ancestry.Insert(0, id);
                var json = parent is null ? $"{{\"id\":\"{id}\"}}" : $"{{\"id\":\"{id}\",\"parent\":\"{parent}\"}}";
                var layer = RandomNumberGenerator.GetBytes(layerBytes);
                await storage.PutContentAsync(StoragePaths.ImageJson(imageId), Encoding.UTF8.GetBytes(json), ct);
                await storage.PutContentAsync(StoragePaths.ImageLayer(imageId), layer, ct);
                await storage.PutContentAsync(StoragePaths.ImageAncestry(imageId),
                    Encoding.UTF8.GetBytes("[" + string.Join(", ", ancestry.Select(a => $"\"{a}\"")) + "]"), ct);
                await storage.PutContentAsync(StoragePaths.ImageChecksum(imageId), Encoding.UTF8.GetBytes("[\"sha256:" + new string('0', 64) + "\"]"), ct);
                parent = id;
            }
            if (c >= untaggedChains)
                await storage.PutContentAsync(StoragePaths.Tag(new RepositoryName("bench", $"r{c}"), "latest"), Encoding.UTF8.GetBytes(parent!), ct);
        });
    }

    private static async Task<(int Exit, string Stdout, string Stderr, TimeSpan Wall)> RunVerbAsync(
        string dll, string[] verbArgs, Dictionary<string, string> env, CancellationToken ct)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
        start.ArgumentList.Add(dll);
        foreach (var a in verbArgs) start.ArgumentList.Add(a);
        foreach (var (k, v) in env) start.Environment[k] = v;
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromMinutes(10));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await stdout, await stderr, watch.Elapsed);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }
}
