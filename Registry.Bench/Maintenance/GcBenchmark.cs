using System.Diagnostics;
using System.Globalization;
using Registry.Bench.Http;

namespace Registry.Bench.Maintenance;

/// <summary>
/// <c>gc [--images 100000] [--blobs 100000] [--chain 10] [--untagged 0.5] [--garbage 0.5] [--layer-bytes 1024]
/// [--server-dll PATH] [--go-registry PATH] [--keep DIR [--seed-only]]</c>: seeds one file storage with V1 chains and v2 repositories
/// (<see cref="GcSeed"/>), proves the layout through the registry's HTTP API, then times the real <c>gc --dry-run</c>
/// and <c>gc</c> verbs of Registry.V1 (Release build) as child processes, and Debian's Go registry's
/// <c>garbage-collect</c> (with and without <c>--dry-run</c>) on a hard-linked copy of the same v2 tree (a third copy of links
/// keeps every file, so neither run frees file data). Peak RSS of
/// each run comes from <c>/usr/bin/time</c>. Afterwards the kept things are pulled again (a sample) and what is left
/// on disk is counted. With <c>--keep DIR --seed-only</c> it stops after the seed and its proof. Ours runs online (the verb beside a serving registry); the Go registry's needs it stopped.
/// </summary>
public static class GcBenchmark
{
    public const string OptionsHelp = "[--images 100000] [--blobs 100000] [--chain 10] [--untagged 0.5] [--garbage 0.5] [--layer-bytes 1024] [--server-dll PATH] [--go-registry PATH] [--keep DIR [--seed-only]]";

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("gc", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args, [.. GcSeedShape.Options, "--server-dll", "--go-registry", "--keep"], ["--seed-only"]);
        var shape = GcSeedShape.Parse(options, 100_000);
        var chain = shape.Chain;
        var dll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));
        var goBinary = options.GetString("--go-registry") ?? GoRegistryPeer.DefaultBinary;
        var root = options.GetString("--keep") ?? temp;
        Directory.CreateDirectory(root);
        var storageRoot = Path.Combine(root, "storage");
        if (Directory.Exists(storageRoot)) throw new BenchUsageException($"{storageRoot} exists; --keep needs a fresh directory");

        Console.WriteLine($"load average {BenchRunner.LoadAverage()}; {BenchRunner.MachineNote}");
        var watch = Stopwatch.StartNew();
        var seed = shape.Write(storageRoot, ct);
        Console.WriteLine($"seeded {seed.V1Images} V1 images ({seed.V1GarbageImages.Count} untagged) and {seed.V2Blobs} v2 blobs " +
                          $"({seed.V2Tagged.Count} tagged repositories, {seed.V2GarbageBlobs.Count} garbage blobs, {seed.V2GarbageLinks.Count} garbage links) in {watch.Elapsed.TotalSeconds:F1} s");
        watch.Restart();
        await GcChecks.PullSampleAsync(dll, root, seed, chain, garbageReadable: true, ct);
        Console.WriteLine($"layout proven: a sample of V1 and v2 tags pulled through the registry in {watch.Elapsed.TotalSeconds:F1} s");
        // A storage for runs by hand (profiling): the verbs are then run on a copy, e.g. "cp -al".
        if (options.Has("--seed-only")) return;

        // The Go registry's copy: hard links (neither collector writes into a file, both only unlink).
        var goRoot = Path.Combine(root, "go");
        var goConfig = WriteGoConfig(goRoot);
        var hasGo = seed.V2Blobs > 0 && File.Exists(goBinary);
        if (hasGo)
        {
            await RunAsync("cp", ["-al", Path.Combine(storageRoot, "docker"), Path.Combine(goRoot, "docker")], null, null, ct);
            // A third set of links holds every v2 file, so neither collector frees file data: otherwise whichever runs
            // last frees what both unlinked, and on a disk that discards freed blocks synchronously pays for both.
            var holder = Directory.CreateDirectory(Path.Combine(root, "holder")).FullName;
            await RunAsync("cp", ["-al", Path.Combine(storageRoot, "docker"), Path.Combine(holder, "docker")], null, null, ct);
        }
        else Console.WriteLine($"no Go registry comparison ({(seed.V2Blobs == 0 ? "no v2 blobs" : goBinary + " not found")})");

        var env = new Dictionary<string, string>
        {
            ["SETTINGS_FLAVOR"] = "dev",
            ["STORAGE_PATH"] = storageRoot,
            ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(root, "search.db"),
            ["REGISTRY_GC_GRACE_SECONDS"] = "0",
            ["LOGLEVEL"] = "warn",
        };
        var rows = new List<Run>();
        rows.Add(await OursAsync(dll, ["gc", "--dry-run"], env, root, ct));
        if (hasGo) rows.Add(await GoAsync(goBinary, ["garbage-collect", "--dry-run", goConfig], root, ct));
        rows.Add(await OursAsync(dll, ["gc"], env, root, ct));
        if (hasGo) rows.Add(await GoAsync(goBinary, ["garbage-collect", goConfig], root, ct));
        rows.Add(await OursAsync(dll, ["gc"], env, root, ct));

        Console.WriteLine();
        Console.WriteLine($"{"run",-36} {"wall s",8} {"own s",8} {"CPU s",8} {"peak RSS MiB",13}  outcome");
        foreach (var r in rows)
            Console.WriteLine($"{r.Name,-36} {r.Wall.TotalSeconds,8:F1} {(r.Own is { } own ? own.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) : "-"),8} {r.Cpu.TotalSeconds,8:F1} {r.PeakRssKiB / 1024.0,13:F0}  {r.Outcome}");
        if (hasGo)
        {
            Console.WriteLine($"ours / Go: dry run wall {rows[0].Wall / rows[1].Wall:F2}x, CPU {rows[0].Cpu / rows[1].Cpu:F2}x; real wall {rows[2].Wall / rows[3].Wall:F2}x, CPU {rows[2].Cpu / rows[3].Cpu:F2}x " +
                              "(ours also collects V1 and runs online beside a serving registry; the Go registry's needs it stopped)");
        }
        Console.WriteLine($"load average {BenchRunner.LoadAverage()}");

        var v1 = GcChecks.CountV1(storageRoot, seed);
        var v2 = GcChecks.CountV2(storageRoot, seed);
        Console.WriteLine($"ours after: V1 kept {v1.KeptPresent}/{v1.Kept}, garbage left {v1.GarbagePresent}/{v1.Garbage}; " +
                          $"v2 kept {v2.KeptPresent}/{v2.Kept}, garbage blobs left {v2.GarbagePresent}/{v2.Garbage}, garbage links left {GcChecks.CountGarbageLinks(storageRoot, seed)}/{seed.V2GarbageLinks.Count}");
        if (hasGo)
        {
            var go = GcChecks.CountV2(goRoot, seed);
            Console.WriteLine($"Go after:   v2 kept {go.KeptPresent}/{go.Kept}, garbage blobs left {go.GarbagePresent}/{go.Garbage}, garbage links left {GcChecks.CountGarbageLinks(goRoot, seed)}/{seed.V2GarbageLinks.Count}");
        }
        if (v1.KeptPresent != v1.Kept || v1.GarbagePresent != 0 || v2.KeptPresent != v2.Kept || v2.GarbagePresent != 0)
            throw new ServerNotFunctionalException("the collection kept garbage or lost something referenced");
        watch.Restart();
        await GcChecks.PullSampleAsync(dll, root, seed, chain, garbageReadable: false, ct);
        Console.WriteLine($"after the collection the sample pulls again and garbage answers 404 ({watch.Elapsed.TotalSeconds:F1} s)");
    });

    internal sealed record Run(string Name, TimeSpan Wall, TimeSpan? Own, TimeSpan Cpu, long PeakRssKiB, string Outcome);

    /// <summary>Our verb: its own duration and totals from the report's last two lines.</summary>
    internal static async Task<Run> OursAsync(string dll, string[] verb, Dictionary<string, string> env, string root, CancellationToken ct)
    {
        var (stdout, wall, rss, cpu) = await RunAsync("dotnet", [dll, .. verb], env, root, ct);
        var lines = stdout.TrimEnd().Split('\n');
        var ms = long.Parse(lines[^1].Split(' ')[^2], CultureInfo.InvariantCulture);
        return new Run("ours: " + string.Join(' ', verb), wall, TimeSpan.FromMilliseconds(ms), cpu, rss, lines[^2].Split(", ")[^1] + " (" + lines[^1].Split(" in ")[0] + ")");
    }

    /// <summary>The Go registry's garbage-collect: it prints every mark and every deletion; we keep the counts.</summary>
    internal static async Task<Run> GoAsync(string binary, string[] arguments, string root, CancellationToken ct, params string[] unset)
    {
        var (stdout, wall, rss, cpu) = await RunAsync(binary, arguments, null, root, ct, unset);
        var summary = stdout.Split('\n').LastOrDefault(l => l.Contains("eligible for deletion", StringComparison.Ordinal) && l.Contains("marked", StringComparison.Ordinal)) ?? "";
        var deleted = stdout.Split('\n').Count(l => l.StartsWith("blob eligible for deletion", StringComparison.Ordinal));
        return new Run("Go: " + string.Join(' ', arguments.SkipLast(1)), wall, null, cpu, rss, summary.Length > 0 ? summary.Trim() : $"{deleted} blobs eligible for deletion");
    }

    /// <summary>Runs a child under <c>/usr/bin/time</c> (without the <paramref name="unset"/> variables): stdout, wall time, peak RSS in KiB and CPU time (user and system).</summary>
    internal static async Task<(string Stdout, TimeSpan Wall, long PeakRssKiB, TimeSpan Cpu)> RunAsync(
        string file, string[] arguments, Dictionary<string, string>? env, string? root, CancellationToken ct, params string[] unset)
    {
        var timeFile = Path.Combine(root ?? Path.GetTempPath(), "time.txt");
        var start = new ProcessStartInfo(root is null ? file : "/usr/bin/time") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (root is not null) foreach (var a in new[] { "-o", timeFile, "-f", "%M %U %S", file }) start.ArgumentList.Add(a);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? []) start.Environment[k] = v;
        foreach (var name in unset) start.Environment.Remove(name);
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromMinutes(30));
            await process.WaitForExitAsync(timeout.Token);
            var wall = watch.Elapsed;
            if (process.ExitCode != 0)
                throw new ServerNotFunctionalException($"{file} {string.Join(' ', arguments)} exited {process.ExitCode}: {(await stderr)[..Math.Min(2000, (await stderr).Length)]}");
            if (root is null) return (await stdout, wall, 0, TimeSpan.Zero);
            var figures = File.ReadAllLines(timeFile).Last(l => l.Length > 0).Trim().Split(' ');
            var cpu = TimeSpan.FromSeconds(double.Parse(figures[1], CultureInfo.InvariantCulture) + double.Parse(figures[2], CultureInfo.InvariantCulture));
            return (await stdout, wall, long.Parse(figures[0], CultureInfo.InvariantCulture), cpu);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>The Go registry's configuration (<see cref="GoRegistryPeer.Config"/>) on its copy of the storage.</summary>
    private static string WriteGoConfig(string goRoot)
    {
        Directory.CreateDirectory(goRoot);
        var config = Path.Combine(goRoot, "config.yml");
        File.WriteAllText(config, GoRegistryPeer.Config(GoRegistryPeer.FileStorage(goRoot), "127.0.0.1:0"));
        return config;
    }
}
