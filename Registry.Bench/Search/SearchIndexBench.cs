using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Registry.Index.Database.Sqlite;
using Registry.Index.Search;

namespace Registry.Bench.Search;

/// <summary>
/// <c>search-index [--sizes 100000,1000000] [--out file]</c>: seeds an index with realistic repository names,
/// times the rebuild, single writes and the search latency of several query shapes.
/// </summary>
public static class SearchIndexBench
{
    private const int PageSize = 25;
    private const int DeepPage = 100;
    private static readonly TimeSpan BudgetPerCase = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(string[] args)
    {
        var sizes = new List<int> { 100_000, 1_000_000 };
        string? outFile = null;
        string? keep = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--sizes" when i + 1 < args.Length:
                    sizes = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
                    break;
                case "--out" when i + 1 < args.Length:
                    outFile = args[++i];
                    break;
                case "--keep" when i + 1 < args.Length:
                    keep = args[++i];
                    break;
                default:
                    Console.Error.WriteLine("usage: search-index [--sizes 100000,1000000] [--out file] [--keep directory]");
                    return 2;
            }
        }

        var report = new StringBuilder();
        report.AppendLine($"# Search index benchmark ({Environment.ProcessorCount} cores, {RuntimeLabel()})");
        report.AppendLine();
        foreach (var size in sizes)
        {
            await RunSizeAsync(size, report, keep);
        }

        Console.WriteLine(report);
        if (outFile is not null)
        {
            await File.WriteAllTextAsync(outFile, report.ToString());
        }

        return 0;
    }

    /// <summary>With <paramref name="keep"/>, the database stays in that directory for inspection.</summary>
    private static async Task RunSizeAsync(int size, StringBuilder report, string? keep)
    {
        var directory = keep is null
            ? Path.Combine(Path.GetTempPath(), $"search-bench-{Guid.NewGuid():N}")
            : Path.Combine(keep, $"search-{size}");
        try
        {
            var entries = Seed(size, new Random(42));
            var index = await SqliteSearchIndex.OpenAsync(Path.Combine(directory, "index.db"), default);
            // Measure the search itself: the same query repeats with no write between, which the page cache would answer.
            index.CacheResults = false;

            var clock = Stopwatch.StartNew();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            await index.ReplaceAllAsync(entries, default);
            var rebuild = clock.Elapsed;
            var rebuildCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            var fileSize = new FileInfo(index.FilePath).Length + WalSize(index.FilePath);

            report.AppendLine($"## {size:N0} repositories");
            report.AppendLine();
            report.AppendLine($"ReplaceAll: {rebuild.TotalSeconds:0.0} s (CPU {rebuildCpu.TotalSeconds:0.0} s); database {fileSize / 1048576.0:0} MiB.");
            report.AppendLine();
            report.AppendLine($"Writes (one transaction each): {await WriteLatencyAsync(index)}");
            report.AppendLine();
            // Counts are kept per version of the rows, so a repeated query counts once; "after a write" times
            // the search that follows a write (not timed), which has to count again.
            report.AppendLine("| query shape | q | matches | page | p50 ms | p99 ms | CPU ms/query (mean) | runs | p50 ms after a write |");
            report.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");

            var sample = entries[size / 2];
            var rare = entries[size / 3].Name;
            var shapes = new (string Shape, string Query)[]
            {
                ("exact repository name", sample.Name[(sample.Name.IndexOf('/') + 1)..]),
                ("3-char common substring", "ser"),
                ("6+ char rare substring", RareSubstring(rare)),
                ("description word", "lightweight"),
                ("1-char common", "e"),
                ("1-char uncommon", "q"),
                ("2-char", "ku"),
                ("empty", ""),
            };
            foreach (var (shape, query) in shapes)
            {
                var first = await index.SearchAsync(query, PageSize, 1, default);
                var lastPage = (int)Math.Max(1, (first.NumResults + PageSize - 1) / PageSize);
                foreach (var page in new[] { 1, Math.Min(DeepPage, lastPage) }.Distinct())
                {
                    var (p50, p99, cpuMs, runs) = await MeasureAsync(() => index.SearchAsync(query, PageSize, page, default));
                    var cold = await AfterWriteAsync(index, () => index.SearchAsync(query, PageSize, page, default));
                    report.AppendLine(
                        $"| {shape} | `{query}` | {first.NumResults:N0} | {page} | {p50:0.00} | {p99:0.00} | {cpuMs:0.00} | {runs} | {cold:0.00} |");
                }
            }

            report.AppendLine();
            Console.Error.WriteLine($"done: {size:N0}");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            if (keep is null && Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static async Task<string> WriteLatencyAsync(SqliteSearchIndex index)
    {
        var (add, _, _, _) = await MeasureAsync(Counter("bench-new/added-", index.AddRepositoryAsync), 200);
        var (describe, _, _, _) = await MeasureAsync(
            Counter("bench-new/added-", (name, ct) => index.SetDescriptionAsync(name, "a lightweight bench entry", ct)), 200);
        var (remove, _, _, _) = await MeasureAsync(Counter("bench-new/added-", index.RemoveRepositoryAsync), 200);
        return $"add p50 {add:0.00} ms, set description p50 {describe:0.00} ms, remove p50 {remove:0.00} ms.";
    }

    /// <summary>Median of <paramref name="search"/> timed right after a write to a row it does not match.</summary>
    private static async Task<double> AfterWriteAsync(SqliteSearchIndex index, Func<Task> search)
    {
        var samples = new List<double>();
        for (var i = 0; i < 31; i++)
        {
            await index.SetDescriptionAsync("bench-cold/row", i % 2 == 0 ? "zq" : "", default);
            var clock = Stopwatch.StartNew();
            await search();
            samples.Add(clock.Elapsed.TotalMilliseconds);
        }

        samples.Sort();
        return Percentile(samples, 0.50);
    }

    private static Func<Task> Counter(string prefix, Func<string, CancellationToken, Task> write)
    {
        var n = 0;
        return () => write(prefix + n++, default);
    }

    private static async Task<(double P50, double P99, double Cpu, int Runs)> MeasureAsync(Func<Task> action, int maxRuns = 500)
    {
        for (var i = 0; i < 3; i++)
        {
            await action();
        }

        var samples = new List<double>();
        var total = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        while (samples.Count < maxRuns && (samples.Count < 20 || total.Elapsed < BudgetPerCase))
        {
            var clock = Stopwatch.StartNew();
            await action();
            samples.Add(clock.Elapsed.TotalMilliseconds);
        }

        var cpuPerRun = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / samples.Count;
        samples.Sort();
        return (Percentile(samples, 0.50), Percentile(samples, 0.99), cpuPerRun, samples.Count);
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static long WalSize(string path) => File.Exists(path + "-wal") ? new FileInfo(path + "-wal").Length : 0;

    private static string RuntimeLabel() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

    /// <summary>
    /// Names shaped like a public registry's: a few thousand namespaces (one big "library"), repositories of one
    /// to three words joined by '-' or '_', sometimes with a version digit; a fifth have a description.
    /// </summary>
    private static List<SearchEntry> Seed(int size, Random random)
    {
        var namespaces = Enumerable.Range(0, Math.Max(50, size / 300))
            .Select(i => i == 0 ? "library" : Word(random) + (random.Next(3) == 0 ? random.Next(100).ToString(CultureInfo.InvariantCulture) : ""))
            .Distinct().ToArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var entries = new List<SearchEntry>(size);
        while (entries.Count < size)
        {
            var ns = random.Next(100) == 0 ? "library" : namespaces[random.Next(namespaces.Length)];
            var repo = random.Next(3) switch
            {
                0 => Word(random),
                1 => Word(random) + (random.Next(4) == 0 ? "_" : "-") + Word(random),
                _ => Word(random) + "-" + Word(random) + (random.Next(2) == 0 ? random.Next(10).ToString(CultureInfo.InvariantCulture) : "-" + Word(random)),
            };
            var name = ns + "/" + repo;
            if (!names.Add(name))
            {
                continue;
            }

            var description = random.Next(5) == 0
                ? string.Join(' ', Enumerable.Range(0, random.Next(4, 12)).Select(_ => DescriptionWord(random)))
                : "";
            var stars = random.Next(10) == 0 ? (int)Math.Pow(10, random.NextDouble() * 3) : 0;
            entries.Add(new SearchEntry(name, description, stars));
        }

        return entries;
    }

    private static string Word(Random random) => Words[random.Next(Words.Length)];

    private static string DescriptionWord(Random random) =>
        random.Next(3) == 0 ? Word(random) : Prose[random.Next(Prose.Length)];

    private static readonly string[] Words = """
        alpine api apache app archive arm audit auth backup base bash bench blog bot bridge broker build
        bundle cache cassandra cert chart chat check ci cli client cloud cluster cms collector config
        consul controller core cron dashboard data db debian debug deploy dev devops dns docker docs
        driver dump edge elastic email engine etcd event exporter fedora feed file flask forward frontend
        ftp gateway git go gpu grafana graph grpc hadoop haproxy health helm hook host http hub image
        influx ingress java jenkins job kafka keycloak kube lambda ldap lint linux log logstash mail
        manager maria media memcached mesh metrics migrate minio mongo monitor mqtt mysql nats net
        nginx node notify nova oauth ocr operator opt panel php pipeline postgres prometheus proxy push
        python queue rabbit rails react redis registry relay render repo rest ruby runner rust s3
        sandbox scala scheduler scraper search secret sensor server service shell sidecar slack smtp
        spark sql ssh ssl stack static storage stream sync syslog task tensor terraform test tomcat
        tool tracer ubuntu ui upload vault video vpn watch web webhook wiki worker xml yaml zabbix zookeeper
        """.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);

    private static readonly string[] Prose = """
        a an the for with and of to on in my our small simple fast lightweight minimal image container
        based built running official unofficial custom tiny secure production ready example demo
        personal experimental latest stable version setup tools environment based service
        """.Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Eight characters around the namespace separator (fewer when the name is short).</summary>
    private static string RareSubstring(string name)
    {
        var start = Math.Max(0, name.IndexOf('/') - 3);
        return name.Substring(start, Math.Min(8, name.Length - start));
    }
}
