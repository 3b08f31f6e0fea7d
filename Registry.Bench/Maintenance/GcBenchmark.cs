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

    public static async Task<int> RunAsync(string[] args)
    {
        int images = 10_000, chain = 10, layerBytes = 1024;
        double untagged = 0.5;
        string? serverDll = null, keep = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--images" when i + 1 < args.Length: images = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--chain" when i + 1 < args.Length: chain = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--untagged" when i + 1 < args.Length: untagged = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--layer-bytes" when i + 1 < args.Length: layerBytes = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--server-dll" when i + 1 < args.Length: serverDll = args[++i]; break;
                case "--keep" when i + 1 < args.Length: keep = args[++i]; break;
                default:
                    Console.Error.WriteLine("usage: gc " + OptionsHelp);
                    return 2;
            }
        }

        if (ServerLauncher.ResolveRegistryDllOrReport(serverDll) is not { } dll) return 2;

        var root = keep ?? Path.Combine(Path.GetTempPath(), "registry-gc-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            var storageRoot = Path.Combine(root, "storage");
            var chains = images / chain;
            var untaggedChains = (int)Math.Round(chains * untagged);
            var seedWatch = Stopwatch.StartNew();
            await SeedAsync(new FileSystemStorageDriver(storageRoot), chains, chain, untaggedChains, layerBytes);
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
                var (exit, stdout, stderr, wall) = await RunVerbAsync(dll, verbArgs, env);
                if (exit != 0)
                {
                    Console.Error.WriteLine($"{string.Join(' ', verbArgs)} exited {exit}: {stderr}");
                    return 1;
                }
                var lines = stdout.TrimEnd().Split('\n');
                Console.WriteLine($"{string.Join(' ', verbArgs),-12} {lines[^2]} | {lines[^1]} | wall {wall.TotalMilliseconds:F0} ms");
            }
            return 0;
        }
        finally
        {
            if (keep is null) Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Writes json, layer, ancestry and _checksum per image and one tag per kept chain, eight writers at a time.</summary>
    private static async Task SeedAsync(IStorageDriver storage, int chains, int length, int untaggedChains, int layerBytes)
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, chains), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (c, ct) =>
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

    private static async Task<(int Exit, string Stdout, string Stderr, TimeSpan Wall)> RunVerbAsync(string dll, string[] verbArgs, Dictionary<string, string> env)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
        start.ArgumentList.Add(dll);
        foreach (var a in verbArgs) start.ArgumentList.Add(a);
        foreach (var (k, v) in env) start.Environment[k] = v;
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr, watch.Elapsed);
    }
}
