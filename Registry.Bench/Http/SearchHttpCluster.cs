using Registry.Bench.Search;

namespace Registry.Bench.Http;

/// <summary>
/// The several-instances leg of search-http: N registry processes on one throwaway PostgreSQL index database and
/// one storage folder, seeded with the same repositories as the SQLite instance, driven with the same query mix
/// and the same total number of connections spread evenly over the instances. Their aggregate req/s is compared
/// with the single SQLite instance's figure of the same run (target: at least as much).
/// </summary>
internal static class SearchHttpCluster
{
    public const double RatioTarget = 1.0;

    /// <summary>Null (with the reason printed) when PostgreSQL is not installed here.</summary>
    public static async Task<ClusterSummary?> RunAsync(
        string registryDll,
        string temp,
        string[] repositories,
        LoadShape[] shapes,
        int instances,
        int connections,
        TimeSpan duration,
        int rounds,
        TimeSpan warmup,
        double sqliteRequestsPerSecond,
        CancellationToken ct)
    {
        await using var postgres = await ThrowawayPostgres.StartAsync();
        if (postgres is null)
        {
            Console.WriteLine("  PostgreSQL instances: not measured (PostgreSQL is not installed)");
            return null;
        }

        var url = await postgres.CreateDatabaseAsync("search_http");
        var storage = Directory.CreateDirectory(Path.Combine(temp, "cluster-storage")).FullName;
        var shared = new Dictionary<string, string> { ["SQLALCHEMY_INDEX_DATABASE"] = url, ["STORAGE_PATH"] = storage };
        var servers = new List<ChildServer>();
        var clients = new List<HttpClient>();
        try
        {
            // One at a time: the first start creates the schema.
            for (var i = 0; i < instances; i++)
            {
                var server = await ServerLauncher.StartRegistryAsync(registryDll, Path.Combine(temp, $"cluster-{i}"), ct, shared);
                servers.Add(server);
                clients.Add(LoadGenerator.NewClient(server, Share(connections, instances, i)));
            }

            var seeding = await SearchHttpBenchmark.SeedAsync(servers[0], clients[0], repositories, ct);
            Console.WriteLine($"  PostgreSQL: seeded {seeding.Repositories} repositories through instance 1 in {seeding.Seconds:F1} s ({seeding.PerSecond:F0}/s)");
            var warnings = new List<string>();
            for (var i = 0; i < instances; i++)
            {
                // Every instance must see what instance 1 wrote: the same checks as for SQLite, on each.
                warnings.AddRange(await SearchHttpBenchmark.CheckShapesAsync(servers[i], clients[i], shapes, repositories, ct));
            }
            foreach (var warning in warnings) Console.WriteLine($"  WARNING: {warning}");

            if (warmup > TimeSpan.Zero) await RunAllAsync(clients, shapes, connections, warmup, ct);
            foreach (var server in servers)
            {
                var quiet = await server.WaitUntilQuietAsync(ct);
                Console.WriteLine($"  warm-up ok: {server.Name} on PostgreSQL (pid {server.Pid}), quiet after {quiet.TotalSeconds:F1} s");
            }

            var perRound = new List<LoadResult[]>();
            for (var round = 1; round <= rounds; round++)
            {
                var results = await RunAllAsync(clients, shapes, connections, duration, ct);
                perRound.Add(results);
                Console.WriteLine(
                    $"  round {round} {instances} instances on PostgreSQL: {results.Sum(r => r.RequestsPerSecond):F0} req/s " +
                    $"({string.Join(" + ", results.Select(r => r.RequestsPerSecond.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))}), " +
                    $"{results.Sum(r => r.Errors)} errors");
            }

            var aggregate = BenchRunner.Median(perRound.Select(r => r.Sum(x => x.RequestsPerSecond)).ToList());
            var perInstance = Enumerable.Range(0, instances)
                .Select(i => SearchHttpBenchmark.Summarise($"registry {i + 1}/{instances} on PostgreSQL", perRound.Select(r => r[i]).ToList()))
                .ToList();
            var errors = perInstance.Sum(s => s.Errors);
            var ratio = aggregate / sqliteRequestsPerSecond;
            return new ClusterSummary(instances, seeding, aggregate, errors, ratio, RatioTarget, ratio >= RatioTarget && errors == 0, perInstance, warnings);
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
            foreach (var server in servers) await server.DisposeAsync();
        }
    }

    public static void Print(ClusterSummary cluster, double sqliteRequestsPerSecond)
    {
        Console.WriteLine(
            $"  {cluster.Instances} instances on one PostgreSQL, aggregate: {cluster.RequestsPerSecond,10:F0} req/s, {cluster.Errors} errors " +
            $"(SQLite, one instance: {sqliteRequestsPerSecond:F0} req/s)");
        foreach (var instance in cluster.PerInstance)
        {
            Console.WriteLine($"    {instance.Server,-40}{instance.RequestsPerSecond,10:F0}{instance.P50Ms,9:F2}{instance.P99Ms,9:F2}{instance.Errors,8}");
            foreach (var shape in instance.Shapes)
                Console.WriteLine($"      {shape.Shape,-38}{shape.RequestsPerSecond,10:F0}{shape.P50Ms,9:F2}{shape.P99Ms,9:F2}");
        }
        Console.WriteLine(
            $"  ratio PostgreSQL instances/SQLite instance: {cluster.Ratio:F2} (target >= {cluster.RatioTarget:F2}) {BenchRunner.Verdict(cluster.TargetMet)}");
    }

    /// <summary>All instances under load at once, the connections split between them; one result per instance.</summary>
    private static Task<LoadResult[]> RunAllAsync(List<HttpClient> clients, LoadShape[] shapes, int connections, TimeSpan duration, CancellationToken ct) =>
        Task.WhenAll(clients.Select((client, i) => LoadGenerator.RunAsync(client, shapes, Share(connections, clients.Count, i), duration, ct)));

    /// <summary>Instance <paramref name="index"/>'s share of the connections (the first ones take the remainder).</summary>
    private static int Share(int connections, int instances, int index) =>
        Math.Max(1, connections / instances + (index < connections % instances ? 1 : 0));
}

internal sealed record ClusterSummary(
    int Instances,
    SeedingFigures Seeding,
    double RequestsPerSecond,
    long Errors,
    double Ratio,
    double RatioTarget,
    bool TargetMet,
    IReadOnlyList<LoadSummary> PerInstance,
    IReadOnlyList<string> Warnings);
