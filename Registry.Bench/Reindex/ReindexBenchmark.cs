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
/// process start included.
/// </summary>
public static partial class ReindexBenchmark
{
    public const string OptionsHelp = "[--repositories 100000] [--engines postgres,sqlite] [--pg-url url] [--server-dll PATH] [--keep DIR]";

    public static async Task<int> RunAsync(string[] args)
    {
        var repositories = 100_000;
        var engines = new List<string> { "postgres", "sqlite" };
        string? pgUrl = null, serverDll = null, keep = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--repositories" when i + 1 < args.Length: repositories = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--engines" when i + 1 < args.Length: engines = args[++i].Split(',').ToList(); break;
                case "--pg-url" when i + 1 < args.Length: pgUrl = args[++i]; break;
                case "--server-dll" when i + 1 < args.Length: serverDll = args[++i]; break;
                case "--keep" when i + 1 < args.Length: keep = args[++i]; break;
                default:
                    Console.Error.WriteLine("usage: reindex " + OptionsHelp);
                    return 2;
            }
        }
        if (repositories < 1 || engines.Count == 0 || engines.Any(e => e is not ("sqlite" or "postgres")))
        {
            Console.Error.WriteLine("usage: reindex " + OptionsHelp);
            return 2;
        }

        if (ServerLauncher.ResolveRegistryDllOrReport(serverDll) is not { } dll) return 2;

        var root = keep ?? Path.Combine(Path.GetTempPath(), "registry-reindex-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        ThrowawayPostgres? server = null;
        try
        {
            var storage = Path.Combine(root, $"storage-{repositories}");
            var seed = SyntheticTree.Ensure(storage, repositories);
            Console.WriteLine(seed is { } took
                ? $"wrote a storage tree of {repositories:N0} repositories in {took.TotalSeconds:0.0} s ({storage})"
                : $"reusing the storage tree of {repositories:N0} repositories in {storage}");
            // A cold page cache would time the disk, not the scan; one untimed listing pass warms it alike for both engines.
            SyntheticTree.Warm(storage);

            if (engines.Contains("postgres") && pgUrl is null)
            {
                server = await ThrowawayPostgres.StartAsync();
                if (server is null) return 1;
            }

            Console.WriteLine($"| engine | repositories | scan s | write s | reindex total s (wall, process start included) |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var engine in engines)
            {
                var database = engine == "sqlite"
                    ? "sqlite:///" + Path.Combine(root, $"index-{Guid.NewGuid():N}.db")
                    : pgUrl ?? await server!.CreateDatabaseAsync($"reindex_bench_{Guid.NewGuid():N}");
                var result = await RunReindexAsync(dll, storage, database);
                if (engine == "sqlite") DeleteSqlite(database["sqlite:///".Length..]);
                if (result is null) return 1;
                var (scan, write, wall, count) = result.Value;
                if (count != repositories)
                {
                    Console.Error.WriteLine($"reindex found {count} repositories, expected {repositories}");
                    return 1;
                }
                Console.WriteLine($"| {engine} | {count:N0} | {scan:0.0} | {write:0.0} | {wall.TotalSeconds:0.0} |");
            }
            return 0;
        }
        finally
        {
            if (server is not null) await server.DisposeAsync();
            if (keep is null) Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Runs <c>reindex</c>; its stdout (one line per repository) is counted, not kept.</summary>
    private static async Task<(double Scan, double Write, TimeSpan Wall, long Count)?> RunReindexAsync(string dll, string storage, string database)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("reindex");
        start.Environment["SETTINGS_FLAVOR"] = "dev";
        start.Environment["STORAGE_PATH"] = storage;
        start.Environment["SQLALCHEMY_INDEX_DATABASE"] = database;
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string? last = null;
        while (await process.StandardOutput.ReadLineAsync() is { } line) last = line;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        await process.WaitForExitAsync(timeout.Token);
        var wall = watch.Elapsed;
        var progress = await stderr;
        var scanned = ScannedLine().Match(progress);
        var wrote = WroteLine().Match(progress);
        var total = last is null ? null : TotalLine().Match(last);
        if (process.ExitCode != 0 || !scanned.Success || !wrote.Success || total is not { Success: true })
        {
            Console.Error.WriteLine($"reindex exited {process.ExitCode}: {progress}{last}");
            return null;
        }
        return (double.Parse(scanned.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(wrote.Groups[1].Value, CultureInfo.InvariantCulture),
            wall, long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture));
    }

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
