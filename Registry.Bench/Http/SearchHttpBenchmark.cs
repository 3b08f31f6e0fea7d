using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Registry.Bench.Http;

/// <summary>
/// GET /v1/search throughput and latency under concurrent load, against a bare-Kestrel
/// GET /hello baseline driven by the same client in the same run. With <c>--pg-instances N</c>, also N instances
/// on one PostgreSQL against the SQLite instance (<see cref="SearchHttpCluster"/>).
/// </summary>
internal static class SearchHttpBenchmark
{
    public const string OptionsHelp =
        "[--repos 10000] [--connections 64] [--seconds 20] [--rounds 1] [--warmup-seconds 2] [--pg-instances 0] [--server-dll PATH] [--out FILE] [--baseline-only]";

    private const double RatioTarget = 0.25;
    private const int SeedParallelism = 8;

    private static readonly string[] Words =
    [
        "alpine", "busybox", "nginx", "redis", "postgres", "python", "node", "golang",
        "ubuntu", "debian", "mysql", "mongo", "rabbitmq", "elastic", "jenkins", "traefik",
    ];

    private static readonly string[] Suffixes =
        ["app", "api", "cache", "worker", "proxy", "db", "tools", "base", "web", "cli", "agent", "sidecar"];

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("search-http", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(
            args,
            ["--repos", "--connections", "--seconds", "--rounds", "--warmup-seconds", "--pg-instances", "--server-dll", "--out"],
            ["--baseline-only"]);
        var repoCount = options.GetInt("--repos", 10000, 1, 1_000_000);
        var connections = options.GetInt("--connections", 64, 1, 4096);
        var duration = TimeSpan.FromSeconds(options.GetInt("--seconds", 20, 1, 3600));
        var rounds = options.GetInt("--rounds", 1, 1, 99);
        var warmup = TimeSpan.FromSeconds(options.GetInt("--warmup-seconds", 2, 0, 600));
        var baselineOnly = options.Has("--baseline-only");
        var pgInstances = options.GetInt("--pg-instances", 0, 0, 16);
        var registryDll = baselineOnly ? null : ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));

        Console.WriteLine(
            $"search-http benchmark: {repoCount} repositories, {connections} connections, {duration.TotalSeconds} s per server and round, {rounds} round(s)");
        Console.WriteLine($"machine: {BenchRunner.MachineNote}");

        await using var baselineServer = await ServerLauncher.StartBaselineAsync(Path.Combine(temp, "baseline"), ct);
        await using var registryServer = registryDll is null
            ? null
            : await ServerLauncher.StartRegistryAsync(registryDll, Path.Combine(temp, "registry"), ct);
        using var baselineClient = LoadGenerator.NewClient(baselineServer, connections);
        using var registryClient = registryServer is null ? null : LoadGenerator.NewClient(registryServer, connections);

        var repositories = Enumerable.Range(0, repoCount).Select(RepositoryName).ToArray();
        var shapes = QueryShapes(repositories);
        SeedingFigures? seeding = null;
        var warnings = new List<string>();
        if (registryClient is not null)
        {
            seeding = await SeedAsync(registryServer!, registryClient, repositories, ct);
            Console.WriteLine($"  seeded {seeding.Repositories} repositories in {seeding.Seconds:F1} s ({seeding.PerSecond:F0}/s)");
            warnings.AddRange(await CheckShapesAsync(registryServer!, registryClient, shapes, repositories, ct));
            foreach (var warning in warnings)
            {
                Console.WriteLine($"  WARNING: {warning}");
            }
        }

        LoadShape[] hello = [new("hello", BaselineServer.HelloPath)];
        if (warmup > TimeSpan.Zero)
        {
            await LoadGenerator.RunAsync(baselineClient, hello, connections, warmup, ct);
            if (registryClient is not null)
            {
                await LoadGenerator.RunAsync(registryClient, shapes, connections, warmup, ct);
            }
        }

        foreach (var server in new[] { baselineServer, registryServer })
        {
            if (server is not null)
            {
                var quiet = await server.WaitUntilQuietAsync(ct);
                Console.WriteLine($"  warm-up ok: {server.Name} (pid {server.Pid}), quiet after {quiet.TotalSeconds:F1} s");
            }
        }

        var baselineRounds = new List<LoadResult>();
        var registryRounds = new List<LoadResult>();
        for (var round = 1; round <= rounds; round++)
        {
            var b = await LoadGenerator.RunAsync(baselineClient, hello, connections, duration, ct);
            baselineRounds.Add(b);
            Console.WriteLine($"  round {round} baseline: {b.RequestsPerSecond:F0} req/s, {b.Errors} errors");
            if (registryClient is not null)
            {
                var r = await LoadGenerator.RunAsync(registryClient, shapes, connections, duration, ct);
                registryRounds.Add(r);
                Console.WriteLine($"  round {round} registry: {r.RequestsPerSecond:F0} req/s, {r.Errors} errors");
            }
        }

        var baseline = Summarise(baselineServer.Name, baselineRounds);
        var registry = registryRounds.Count == 0 ? null : Summarise(registryServer!.Name, registryRounds);
        double? ratio = registry is null ? null : registry.RequestsPerSecond / baseline.RequestsPerSecond;
        var cluster = registry is null || pgInstances == 0
            ? null
            : await SearchHttpCluster.RunAsync(registryDll!, temp, repositories, shapes, pgInstances, connections, duration, rounds, warmup, registry.RequestsPerSecond, ct);
        var report = new SearchReport(
            BenchRunner.MachineNote,
            Environment.ProcessorCount,
            repoCount,
            connections,
            duration.TotalSeconds,
            rounds,
            seeding,
            baseline,
            registry,
            ratio,
            RatioTarget,
            ratio is null ? null : ratio >= RatioTarget && registry!.Errors == 0,
            warnings,
            cluster);
        PrintTable(report);
        await BenchRunner.WriteReportAsync(options.GetString("--out"), report, ct);
    });

    /// <summary>Deterministic names: a word shared by 1/16 of the repositories, a suffix, a unique number.</summary>
    private static string RepositoryName(int i) =>
        $"{(i % 20 == 0 ? "library" : $"team{i % 97}")}/{Words[i % Words.Length]}-{Suffixes[i / Words.Length % Suffixes.Length]}-{i}";

    /// <summary>
    /// The query mix: what "docker search" sends for a common word, an exact name, a miss, a term
    /// matching nearly everything (worst case for ordering), a deep page and a mixed-case term.
    /// </summary>
    private static LoadShape[] QueryShapes(string[] repositories)
    {
        var exact = repositories[repositories.Length / 2].Split('/')[1];
        var mixed = repositories[repositories.Length / 3].Split('/')[1].ToUpperInvariant();
        return
        [
            new("common word", "/v1/search?q=redis&n=25"),
            new("exact name", $"/v1/search?q={Uri.EscapeDataString(exact)}&n=25"),
            new("no match", "/v1/search?q=zzz-no-such-repo&n=25"),
            new("broad term", "/v1/search?q=e&n=25"),
            new("deep page", "/v1/search?q=redis&n=25&page=10"),
            new("mixed case", $"/v1/search?q={Uri.EscapeDataString(mixed)}&n=25"),
        ];
    }

    internal static async Task<SeedingFigures> SeedAsync(ChildServer server, HttpClient client, string[] repositories, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(
            repositories,
            new ParallelOptions { MaxDegreeOfParallelism = SeedParallelism, CancellationToken = cancellationToken },
            async (repository, ct) =>
            {
                // Docker Hub API, 'Repositories': the first call of a push; the trailing slash is what docker sends.
                var path = $"/v1/repositories/{repository}/";
                using var request = new HttpRequestMessage(HttpMethod.Put, path)
                {
                    Content = new StringContent("[]", Encoding.UTF8, "application/json"),
                };
                request.Headers.Add("X-Docker-Token", "true");
                using var response = await SendAsync(server, client, request, ct);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new ServerNotFunctionalException(
                        $"{server.Name} is not functional: PUT {path} answered {(int)response.StatusCode} " +
                        $"'{await BodyAsync(response, ct)}', expected 200 (Docker Hub API, 'Repositories').{Tail(server)}");
                }
            });
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return new SeedingFigures(repositories.Length, seconds, repositories.Length / seconds);
    }

    /// <summary>
    /// Each shape must answer 200 with a search body; a num_results or page size different from
    /// what the seeded names imply (Docker Hub API, 'Search': case-insensitive substring of "ns/name") is a warning,
    /// since the load figures are still meaningful.
    /// </summary>
    internal static async Task<List<string>> CheckShapesAsync(
        ChildServer server, HttpClient client, LoadShape[] shapes, string[] repositories, CancellationToken cancellationToken)
    {
        var warnings = new List<string>();
        foreach (var shape in shapes)
        {
            using var response = await SendAsync(server, client, new HttpRequestMessage(HttpMethod.Get, shape.Path), cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new ServerNotFunctionalException(
                    $"{server.Name} is not functional: GET {shape.Path} answered {(int)response.StatusCode} '{Truncate(body)}', " +
                    $"expected 200 (Docker Hub API, 'Search').{Tail(server)}");
            }

            var query = System.Web.HttpUtility.ParseQueryString(new Uri(server.BaseAddress, shape.Path).Query);
            var term = query["q"] ?? "";
            var page = int.Parse(query["page"] ?? "1", CultureInfo.InvariantCulture);
            var pageSize = int.Parse(query["n"] ?? "25", CultureInfo.InvariantCulture);
            var expected = repositories.Count(r => r.Contains(term, StringComparison.OrdinalIgnoreCase));
            var expectedOnPage = Math.Clamp(expected - (page - 1) * pageSize, 0, pageSize);
            try
            {
                using var json = JsonDocument.Parse(body);
                var total = json.RootElement.GetProperty("num_results").GetInt32();
                var onPage = json.RootElement.GetProperty("results").GetArrayLength();
                if (total != expected || onPage != expectedOnPage)
                {
                    warnings.Add($"GET {shape.Path}: num_results {total}, {onPage} results; expected {expected} and {expectedOnPage}");
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                warnings.Add($"GET {shape.Path}: body is not a search result ({e.Message})");
            }
        }

        return warnings;
    }

    private static async Task<HttpResponseMessage> SendAsync(
        ChildServer server, HttpClient client, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await client.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new ServerNotFunctionalException($"{server.Name}: {request.Method} {request.RequestUri} failed: {e.Message}{Tail(server)}");
        }
    }

    private static async Task<string> BodyAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        Truncate(await response.Content.ReadAsStringAsync(cancellationToken));

    private static string Truncate(string body) => body.Length > 300 ? body[..300] + "…" : body;

    private static string Tail(ChildServer server) =>
        server.OutputTail is { Length: > 0 } tail ? $"{Environment.NewLine}last server output:{Environment.NewLine}{tail}" : "";

    /// <summary>Median round by requests/s; its latency figures go with it.</summary>
    internal static LoadSummary Summarise(string server, List<LoadResult> rounds)
    {
        var median = BenchRunner.Median(rounds.Select(r => r.RequestsPerSecond).ToList());
        var representative = rounds.MinBy(r => Math.Abs(r.RequestsPerSecond - median))!;
        return new LoadSummary(
            server,
            median,
            representative.P50Ms,
            representative.P99Ms,
            rounds.Sum(r => r.Errors),
            rounds.Select(r => r.FirstError).FirstOrDefault(e => e is not null),
            rounds.Select(r => r.RequestsPerSecond).ToList(),
            representative.Shapes);
    }

    private static void PrintTable(SearchReport report)
    {
        Console.WriteLine();
        Console.WriteLine(
            $"Search over HTTP: {report.Repositories} repositories, {report.Connections} connections, {report.SecondsPerRound} s per server and round, median of {report.Rounds}");
        Console.WriteLine($"  {"",-44}{"req/s",10}{"p50 ms",9}{"p99 ms",9}{"errors",8}");
        Row("baseline GET /hello", report.Baseline.RequestsPerSecond, report.Baseline.P50Ms, report.Baseline.P99Ms, report.Baseline.Errors);
        if (report.Registry is { } registry)
        {
            Row("registry GET /v1/search (all shapes)", registry.RequestsPerSecond, registry.P50Ms, registry.P99Ms, registry.Errors);
            foreach (var shape in registry.Shapes)
            {
                Console.WriteLine(
                    $"    {shape.Shape,-40}{shape.RequestsPerSecond,10:F0}{shape.P50Ms,9:F2}{shape.P99Ms,9:F2}        {shape.Path}");
            }

            Console.WriteLine(
                $"  ratio registry/baseline: {report.Ratio:F2} (target >= {RatioTarget:F2}) {BenchRunner.Verdict(report.TargetMet == true)}");
            if (registry.FirstError is not null)
            {
                Console.WriteLine($"  first registry error: {registry.FirstError}");
            }
        }
        else
        {
            Console.WriteLine("  registry: not measured (--baseline-only)");
        }

        if (report.PostgresCluster is { } cluster) SearchHttpCluster.Print(cluster, report.Registry!.RequestsPerSecond);

        if (report.Baseline.FirstError is not null)
        {
            Console.WriteLine($"  first baseline error: {report.Baseline.FirstError}");
        }

        Console.WriteLine($"  note: {report.Machine}");
    }

    private static void Row(string label, double requestsPerSecond, double p50, double p99, long errors) =>
        Console.WriteLine($"  {label,-44}{requestsPerSecond,10:F0}{p50,9:F2}{p99,9:F2}{errors,8}");
}

internal sealed record SeedingFigures(int Repositories, double Seconds, double PerSecond);

internal sealed record LoadSummary(
    string Server,
    double RequestsPerSecond,
    double P50Ms,
    double P99Ms,
    long Errors,
    string? FirstError,
    IReadOnlyList<double> RoundsRequestsPerSecond,
    IReadOnlyList<ShapeFigures> Shapes);

internal sealed record SearchReport(
    string Machine,
    int Cores,
    int Repositories,
    int Connections,
    double SecondsPerRound,
    int Rounds,
    SeedingFigures? Seeding,
    LoadSummary Baseline,
    LoadSummary? Registry,
    double? Ratio,
    double RatioTarget,
    bool? TargetMet,
    IReadOnlyList<string> Warnings,
    ClusterSummary? PostgresCluster);
