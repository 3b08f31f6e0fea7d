using System.Diagnostics;
using System.Globalization;
using System.Text;
using Registry.Index.Search;

namespace Registry.Bench.Search;

/// <summary>
/// <c>search-index [--sizes 100000,1000000] [--engines sqlite,postgres] [--pg-url url] [--out file] [--keep dir]</c>:
/// seeds each engine's index with the same realistic repository names, times the rebuild, single writes and the
/// search latency of several query shapes, engine next to engine. PostgreSQL runs on a throwaway server of the
/// benchmark's own (<see cref="ThrowawayPostgres"/>) unless <c>--pg-url</c> names one, whose search rows are replaced.
/// </summary>
public static class SearchIndexBench
{
    private const int PageSize = 25;
    private const int DeepPage = 100;
    private const string Usage =
        "usage: search-index [--sizes 100000,1000000] [--engines sqlite,postgres] [--pg-url url] [--out file] [--keep directory]";

    private static readonly TimeSpan BudgetPerCase = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(string[] args)
    {
        var sizes = new List<int> { 100_000, 1_000_000 };
        var engines = new List<string> { "sqlite", "postgres" };
        string? outFile = null;
        string? keep = null;
        string? pgUrl = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--sizes" when i + 1 < args.Length:
                    sizes = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
                    break;
                case "--engines" when i + 1 < args.Length:
                    engines = args[++i].Split(',').ToList();
                    break;
                case "--pg-url" when i + 1 < args.Length:
                    pgUrl = args[++i];
                    break;
                case "--out" when i + 1 < args.Length:
                    outFile = args[++i];
                    break;
                case "--keep" when i + 1 < args.Length:
                    keep = args[++i];
                    break;
                default:
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }

        if (engines.Count == 0 || engines.Any(e => e is not ("sqlite" or "postgres")))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        ThrowawayPostgres? server = null;
        if (engines.Contains("postgres") && pgUrl is null)
        {
            server = await ThrowawayPostgres.StartAsync();
            if (server is null) return 1;
        }

        try
        {
            var report = new StringBuilder();
            report.AppendLine($"# Search index benchmark ({Environment.ProcessorCount} cores, {RuntimeLabel()})");
            report.AppendLine();
            foreach (var size in sizes)
            {
                var entries = Seed(size, new Random(42));
                report.AppendLine($"## {size:N0} repositories");
                report.AppendLine();
                var rows = new List<string>();
                foreach (var engine in engines)
                {
                    await using var opened = engine == "sqlite"
                        ? await BenchEngine.OpenSqliteAsync(size, keep)
                        : await BenchEngine.OpenPostgresAsync(pgUrl ?? await server!.CreateDatabaseAsync($"search_bench_{size}"));
                    await RunEngineAsync(opened, entries, report, rows);
                }

                // Counts and page positions are kept per version of the rows, so a repeated query counts once; "after a
                // write" times the search that follows a write (not timed) to a row most queries do not match (which a count
                // by generation alone would recount for), "after a matching insert/remove" one that shifts the page.
                report.AppendLine();
                report.AppendLine("| query shape | q | matches | page | engine | p50 ms | p95 ms | p99 ms | CPU ms/query (mean) | runs | p50 ms after a write | p50 ms after a matching insert/remove |");
                report.AppendLine("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
                foreach (var row in rows.OrderBy(r => r[..r.IndexOf('\u0001')], StringComparer.Ordinal))
                {
                    report.AppendLine(row[(row.IndexOf('\u0001') + 1)..]);
                }

                report.AppendLine();
                Console.Error.WriteLine($"done: {size:N0}");
            }

            Console.WriteLine(report);
            if (outFile is not null)
            {
                await File.WriteAllTextAsync(outFile, report.ToString());
            }

            return 0;
        }
        finally
        {
            if (server is not null) await server.DisposeAsync();
        }
    }

    /// <summary>
    /// Rebuilds the engine's index from <paramref name="entries"/> and times every query shape; the table rows go to
    /// <paramref name="rows"/>, each prefixed by a key (shape, page, engine order) and U+0001, so engines interleave.
    /// </summary>
    private static async Task RunEngineAsync(BenchEngine engine, List<SearchEntry> entries, StringBuilder report, List<string> rows)
    {
        var index = engine.Index;
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        await index.ReplaceAllAsync(entries, default);
        var rebuild = clock.Elapsed;
        var rebuildCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;

        report.AppendLine($"{engine.Name}: ReplaceAll {rebuild.TotalSeconds:0.0} s (CPU in this process {rebuildCpu.TotalSeconds:0.0} s); " +
                          $"database {await engine.SizeAsync() / 1048576.0:0} MiB. Writes (one transaction each): {await WriteLatencyAsync(index)}");
        report.AppendLine();

        var size = entries.Count;
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
        for (var s = 0; s < shapes.Length; s++)
        {
            var (shape, query) = shapes[s];
            var first = await index.SearchAsync(query, PageSize, 1, default);
            var lastPage = (int)Math.Max(1, (first.NumResults + PageSize - 1) / PageSize);
            foreach (var page in new[] { 1, Math.Min(DeepPage, lastPage) }.Distinct())
            {
                var m = await MeasureAsync(() => index.SearchAsync(query, PageSize, page, default));
                var search = () => index.SearchAsync(query, PageSize, page, default);
                var cold = await AfterWriteAsync(search, i => index.SetDescriptionAsync("bench-cold/row", i % 2 == 0 ? "zq" : "", default));
                // A matching row that sorts first among the unstarred of its tier: put in and taken out, it moves every later row.
                var matching = "0bench/" + query + "-row";
                var shifted = await AfterWriteAsync(search, i => i % 2 == 0
                    ? index.AddRepositoryAsync(matching, default)
                    : index.RemoveRepositoryAsync(matching, default));
                rows.Add($"{s:00}{page:0000}{engine.Name}\u0001" +
                         $"| {shape} | `{query}` | {first.NumResults:N0} | {page} | {engine.Name} | {m.P50:0.00} | {m.P95:0.00} | {m.P99:0.00} | {m.Cpu:0.00} | {m.Runs} | {cold:0.00} | {shifted:0.00} |");
            }
        }
    }

    private static async Task<string> WriteLatencyAsync(ISearchIndex index)
    {
        var add = await MeasureAsync(Counter("bench-new/added-", index.AddRepositoryAsync), 200);
        var describe = await MeasureAsync(
            Counter("bench-new/added-", (name, ct) => index.SetDescriptionAsync(name, "a lightweight bench entry", ct)), 200);
        var remove = await MeasureAsync(Counter("bench-new/added-", index.RemoveRepositoryAsync), 200);
        return $"add p50 {add.P50:0.00} ms, set description p50 {describe.P50:0.00} ms, remove p50 {remove.P50:0.00} ms.";
    }

    /// <summary>Median of <paramref name="search"/> timed right after each of 31 writes (not timed).</summary>
    private static async Task<double> AfterWriteAsync(Func<Task> search, Func<int, Task> write)
    {
        var samples = new List<double>();
        for (var i = 0; i < 31; i++)
        {
            await write(i);
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

    private static async Task<(double P50, double P95, double P99, double Cpu, int Runs)> MeasureAsync(Func<Task> action, int maxRuns = 500)
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
        return (Percentile(samples, 0.50), Percentile(samples, 0.95), Percentile(samples, 0.99), cpuPerRun, samples.Count);
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

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
