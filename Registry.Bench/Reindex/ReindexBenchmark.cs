using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Registry.Bench.Http;
using Registry.Bench.Search;

namespace Registry.Bench.Reindex;

/// <summary>
/// <c>reindex [--repositories 100000] [--engines postgres,sqlite] [--pg-url url] [--server-dll PATH] [--keep DIR]</c>:
/// writes a synthetic V1 storage tree of N repositories (<see cref="SyntheticTree"/>), then runs the real
/// <c>reindex</c> verb of Registry.V1 (Release build) on it as a child process, once per engine: PostgreSQL on a
/// throwaway server of the benchmark's own unless <c>--pg-url</c> names a database (whose index is replaced), and
/// SQLite. The scan and write times are the verb's own progress lines; the total is the child's wall time,
/// process start included. Beside them the CPU the child used (user and system) and, on the benchmark's own
/// server, the CPU PostgreSQL used: on a machine shared with other work they say what the wall times cannot.
/// With <c>--startup</c>, the server is then started on the SQLite index just built, after a clean stop and after an
/// unclean one (its "running" marker left beside the database): the time until it answers <c>/_ping</c>, and after
/// the unclean stop the time until its background catch-up with storage ends; first, as the baseline of the same
/// window, a start on an empty data directory and a new database (what any start costs on this machine at its load).
/// </summary>
public static partial class ReindexBenchmark
{
    public const string OptionsHelp = "[--repositories 100000] [--engines postgres,sqlite] [--pg-url url] [--server-dll PATH] [--keep DIR] [--startup]";

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("reindex", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args, ["--repositories", "--engines", "--pg-url", "--server-dll", "--keep"], ["--startup"]);
        var startup = options.Has("--startup");
        var repositories = options.GetInt("--repositories", 100_000, 1, int.MaxValue);
        var engines = (options.GetString("--engines") ?? "postgres,sqlite").Split(',').ToList();
        if (engines.Any(e => e is not ("sqlite" or "postgres")))
            throw new BenchUsageException($"option --engines takes postgres and sqlite, got '{options.GetString("--engines")}'");
        var pgUrl = options.GetString("--pg-url");
        var dll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));
        var root = options.GetString("--keep") ?? temp;
        Directory.CreateDirectory(root);

        var storage = Path.Combine(root, $"storage-{repositories}");
        var seed = SyntheticTree.Ensure(storage, repositories);
        Console.WriteLine(seed is { } took
            ? $"wrote a storage tree of {repositories:N0} repositories in {took.TotalSeconds:0.0} s ({storage})"
            : $"reusing the storage tree of {repositories:N0} repositories in {storage}");
        // A cold page cache would time the disk, not the scan; one untimed listing pass warms it alike for both engines.
        SyntheticTree.Warm(storage);

        await using var server = engines.Contains("postgres") && pgUrl is null
            ? await ThrowawayPostgres.StartAsync() ?? throw new BenchUsageException("no PostgreSQL to run against: pass --pg-url")
            : null;

        Console.WriteLine("| engine | repositories | scan s | write s | reindex total s (wall, process start included) | CPU s (reindex process) | CPU s (PostgreSQL) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var engine in engines)
        {
            var database = engine == "sqlite"
                ? "sqlite:///" + Path.Combine(root, $"index-{Guid.NewGuid():N}.db")
                : pgUrl ?? await server!.CreateDatabaseAsync($"reindex_bench_{Guid.NewGuid():N}");
            var serverCpu = engine == "postgres" ? server?.Cpu() : null;
            var (scan, write, wall, cpu, count) = await RunReindexAsync(dll, storage, database, ct);
            if (engine == "sqlite" && startup) await RunStartupsAsync(dll, storage, database, ct);
            if (engine == "sqlite") DeleteSqlite(database["sqlite:///".Length..]);
            if (count != repositories) throw new ServerNotFunctionalException($"reindex found {count} repositories, expected {repositories}");
            // The reindex's connections have closed with it; their backends leave within moments.
            if (serverCpu is not null) await Task.Delay(TimeSpan.FromSeconds(1), ct);
            var postgresCpu = serverCpu is { } before ? $"{(server!.Cpu() - before).TotalSeconds:0.0}" : "-";
            Console.WriteLine($"| {engine} | {count:N0} | {scan:0.0} | {write:0.0} | {wall.TotalSeconds:0.0} | {cpu.TotalSeconds:0.0} | {postgresCpu} |");
        }
    });

    /// <summary>Starts the server on the index just built, after a clean and after an unclean stop; prints what it took.</summary>
    private static async Task RunStartupsAsync(string dll, string storage, string database, CancellationToken ct)
    {
        var marker = database["sqlite:///".Length..] + ".running";
        var environment = new Dictionary<string, string>
        {
            ["SETTINGS_FLAVOR"] = "dev",
            ["STORAGE_PATH"] = storage,
            ["SQLALCHEMY_INDEX_DATABASE"] = database,
            ["LOGLEVEL"] = "info",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        var lines = new List<string>();
        var empty = Directory.CreateTempSubdirectory("registry-empty-start-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            var emptyEnvironment = new Dictionary<string, string>(environment)
            {
                ["STORAGE_PATH"] = Path.Combine(empty, "storage"),
                ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(empty, "index.db"),
            };
            await using (await ChildServer.StartAsync("registry (Registry.V1)", "dotnet", [dll], emptyEnvironment, Path.GetDirectoryName(dll)!, "/_ping", ct))
                lines.Add($"| empty data directory (baseline) | {clock.Elapsed.TotalSeconds:0.00} | - |");
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
        foreach (var unclean in new[] { false, true })
        {
            if (unclean) await File.WriteAllBytesAsync(marker, [], ct);
            var clock = Stopwatch.StartNew();
            await using var server = await ChildServer.StartAsync(
                "registry (Registry.V1)", "dotnet", [dll], environment, Path.GetDirectoryName(dll)!, "/_ping", ct);
            var serving = clock.Elapsed;
            var caughtUp = "-";
            if (unclean)
            {
                // Bounded: a catch-up that does not end within 30 minutes fails the benchmark.
                while (!server.OutputTail.Contains("caught up with storage", StringComparison.Ordinal))
                {
                    if (clock.Elapsed > TimeSpan.FromMinutes(30)) throw new ServerNotFunctionalException($"no catch-up line: {server.OutputTail}");
                    await Task.Delay(250, ct);
                }

                caughtUp = $"{clock.Elapsed.TotalSeconds:0.0}";
            }

            lines.Add($"| {(unclean ? "unclean" : "clean")} stop | {serving.TotalSeconds:0.00} | {caughtUp} |");
        }

        File.Delete(marker);
        Console.WriteLine();
        Console.WriteLine("| start after a | s until /_ping answers (process start included) | s until the search catch-up ended |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var line in lines) Console.WriteLine(line);
        Console.WriteLine();
    }

    /// <summary>Runs <c>reindex</c>; its stdout (one line per repository) is counted, not kept.</summary>
    private static async Task<(double Scan, double Write, TimeSpan Wall, TimeSpan Cpu, long Count)> RunReindexAsync(
        string dll, string storage, string database, CancellationToken ct)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("reindex");
        start.Environment["SETTINGS_FLAVOR"] = "dev";
        start.Environment["STORAGE_PATH"] = storage;
        start.Environment["SQLALCHEMY_INDEX_DATABASE"] = database;
        var cpu = ChildrenCpu();
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        try
        {
            var stderr = process.StandardError.ReadToEndAsync(ct);
            string? last = null;
            while (await process.StandardOutput.ReadLineAsync(ct) is { } line) last = line;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromMinutes(30));
            await process.WaitForExitAsync(timeout.Token);
            var wall = watch.Elapsed;
            // Counted once the child is reaped, which WaitForExitAsync has done.
            cpu = ChildrenCpu() - cpu;
            var progress = await stderr;
            var scanned = ScannedLine().Match(progress);
            var wrote = WroteLine().Match(progress);
            var total = last is null ? null : TotalLine().Match(last);
            if (process.ExitCode != 0 || !scanned.Success || !wrote.Success || total is not { Success: true })
                throw new ServerNotFunctionalException($"reindex exited {process.ExitCode}: {progress}{last}");
            return (double.Parse(scanned.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(wrote.Groups[1].Value, CultureInfo.InvariantCulture),
                wall, cpu, long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>User and system CPU of this process's children that have ended (getrusage, RUSAGE_CHILDREN).</summary>
    private static TimeSpan ChildrenCpu()
    {
        // struct rusage on 64-bit Linux: ru_utime and ru_stime (two timevals: seconds, microseconds), then 14 longs.
        var usage = new long[18];
        if (GetRusage(-1, usage) != 0) return TimeSpan.Zero;
        return TimeSpan.FromSeconds(usage[0] + usage[2]) + TimeSpan.FromMicroseconds(usage[1] + usage[3]);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
    private static extern int GetRusage(int who, long[] usage);

    private static void DeleteSqlite(string path)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            if (File.Exists(file)) File.Delete(file);
    }

    [GeneratedRegex(@"scanned [\d,]+ repositories in (\d+\.\d) s")]
    private static partial Regex ScannedLine();

    [GeneratedRegex(@"wrote [\d,]+ rows in (\d+\.\d) s")]
    private static partial Regex WroteLine();

    [GeneratedRegex(@"^reindexed (\d+) repositories")]
    private static partial Regex TotalLine();
}
