using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Registry.Bench.Http;

/// <summary>
/// The registry's small v2 reads against the .NET ceiling in the same run: <c>GET /v2/&lt;name&gt;/tags/list</c> and
/// <c>GET /v2/&lt;name&gt;/manifests/&lt;tag&gt;</c> (with docker's Accept headers) next to the bare-Kestrel
/// <c>GET /hello</c>, each driven alone by the same closed-loop client, phases interleaved round by round; the
/// registry's <c>GET /v2/</c> shows what its pipeline costs before any storage is read.
/// </summary>
internal static class SmallReadsBenchmark
{
    public const string OptionsHelp =
        "[--tags 5] [--connections 64] [--seconds 10] [--rounds 2] [--warmup-seconds 3] [--server-dll PATH] [--out FILE]";

    private const double RatioTarget = 0.5;
    private const string Repository = "bench/small";

    /// <summary>What docker 20.10 sends when it pulls by tag (docs/client-behaviour.md, 'docker pull (v2)').</summary>
    private static readonly string[] DockerAccept =
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/json",
    ];

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("small-reads", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(
            args, ["--tags", "--connections", "--seconds", "--rounds", "--warmup-seconds", "--server-dll", "--out"], []);
        var tagCount = options.GetInt("--tags", 5, 1, 1000);
        var connections = options.GetInt("--connections", 64, 1, 4096);
        var duration = TimeSpan.FromSeconds(options.GetInt("--seconds", 10, 1, 3600));
        var rounds = options.GetInt("--rounds", 2, 1, 99);
        var warmup = TimeSpan.FromSeconds(options.GetInt("--warmup-seconds", 3, 0, 600));
        var registryDll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));

        Console.WriteLine(
            $"small-reads benchmark: {tagCount} tags, {connections} connections, {duration.TotalSeconds} s per phase, {rounds} round(s)");
        Console.WriteLine($"machine: {BenchRunner.MachineNote}");

        await using var baselineServer = await ServerLauncher.StartBaselineAsync(Path.Combine(temp, "baseline"), ct);
        await using var registryServer = await ServerLauncher.StartRegistryAsync(registryDll, Path.Combine(temp, "registry"), ct);
        using var baselineClient = LoadGenerator.NewClient(baselineServer, connections);
        using var registryClient = LoadGenerator.NewClient(registryServer, connections);
        // On every registry request, tags/list included: harmless there, and what a pull by tag must honour.
        foreach (var type in DockerAccept) registryClient.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue(type));

        var tags = Enumerable.Range(0, tagCount).Select(i => $"v{i}").ToArray();
        await SeedAsync(registryServer, registryClient, tags, ct);
        Console.WriteLine($"  seeded {Repository} with {tagCount} tags");

        var phases = new[]
        {
            new Phase("hello", baselineServer, baselineClient, [new LoadShape("hello", BaselineServer.HelloPath)]),
            // The registry's own floor: its whole middleware pipeline and v2 dispatch around an empty answer.
            new Phase("/v2/ (floor)", registryServer, registryClient, [new LoadShape("/v2/", "/v2/")]),
            new Phase("tags/list", registryServer, registryClient, [new LoadShape("tags/list", $"/v2/{Repository}/tags/list")]),
            new Phase("manifest by tag", registryServer, registryClient,
                tags.Select(t => new LoadShape("manifest " + t, $"/v2/{Repository}/manifests/{t}")).ToArray()),
        };
        if (warmup > TimeSpan.Zero)
            foreach (var phase in phases) await LoadGenerator.RunAsync(phase.Client, phase.Shapes, connections, warmup, ct);
        foreach (var server in new[] { baselineServer, registryServer })
        {
            var quiet = await server.WaitUntilQuietAsync(ct);
            Console.WriteLine($"  warm-up ok: {server.Name} (pid {server.Pid}), quiet after {quiet.TotalSeconds:F1} s");
        }

        var results = phases.ToDictionary(p => p.Name, _ => new List<PhaseRound>());
        for (var round = 1; round <= rounds; round++)
        {
            // Alternate the order so that neither server always runs second, on the other's leftovers.
            var order = round % 2 == 1 ? phases : phases.Reverse().ToArray();
            foreach (var phase in order)
            {
                var cpuBefore = phase.Server.Sample().CpuTime;
                var load = await LoadGenerator.RunAsync(phase.Client, phase.Shapes, connections, duration, ct);
                var cpu = (phase.Server.Sample().CpuTime - cpuBefore).TotalSeconds;
                results[phase.Name].Add(new PhaseRound(load, cpu));
                Console.WriteLine(
                    $"  round {round} {phase.Name}: {load.RequestsPerSecond:F0} req/s, p99 {load.P99Ms:F2} ms, {load.Errors} errors" +
                    (load.FirstError is { } e ? $" (first: {e})" : ""));
            }
        }

        var hello = Summarise("hello", results["hello"]);
        var report = new SmallReadsReport(
            BenchRunner.MachineNote,
            Environment.ProcessorCount,
            tagCount,
            connections,
            duration.TotalSeconds,
            rounds,
            phases.Select(p => Summarise(p.Name, results[p.Name], hello.RequestsPerSecond)).ToList(),
            RatioTarget);
        PrintTable(report);
        await BenchRunner.WriteReportAsync(options.GetString("--out"), report, ct);
    });

    /// <summary>
    /// One image per tag (a config naming the tag, one shared small layer), pushed as docker does: monolithic blob
    /// uploads (<c>POST ?digest=</c>) then <c>PUT /manifests/&lt;tag&gt;</c>; every tag is read back once.
    /// </summary>
    private static async Task SeedAsync(ChildServer server, HttpClient client, string[] tags, CancellationToken ct)
    {
        var layer = RandomNumberGenerator.GetBytes(4096);
        var layerDigest = await PushBlobAsync(server, client, layer, ct);
        foreach (var tag in tags)
        {
            var config = Encoding.UTF8.GetBytes(
                $"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Labels\":{{\"tag\":\"{tag}\"}}}}," +
                $"\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{layerDigest}\"]}}}}");
            var configDigest = await PushBlobAsync(server, client, config, ct);
            var manifest = Encoding.UTF8.GetBytes(
                "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\"," +
                $"\"config\":{{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":{config.Length},\"digest\":\"{configDigest}\"}}," +
                $"\"layers\":[{{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":{layer.Length},\"digest\":\"{layerDigest}\"}}]}}");
            var put = new HttpRequestMessage(HttpMethod.Put, $"/v2/{Repository}/manifests/{tag}") { Content = new ByteArrayContent(manifest) };
            put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/vnd.docker.distribution.manifest.v2+json");
            using (var stored = await client.SendAsync(put, ct)) await ExpectAsync(server, stored, HttpStatusCode.Created, ct);

            using var get = await client.GetAsync($"/v2/{Repository}/manifests/{tag}", ct);
            await ExpectAsync(server, get, HttpStatusCode.OK, ct);
            if (!(await get.Content.ReadAsByteArrayAsync(ct)).AsSpan().SequenceEqual(manifest))
                throw new ServerNotFunctionalException($"{server.Name}: GET /v2/{Repository}/manifests/{tag} did not return the pushed bytes");
        }

        using var list = await client.GetAsync($"/v2/{Repository}/tags/list", ct);
        await ExpectAsync(server, list, HttpStatusCode.OK, ct);
    }

    private static async Task<string> PushBlobAsync(ChildServer server, HttpClient client, byte[] content, CancellationToken ct)
    {
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));
        var post = new HttpRequestMessage(HttpMethod.Post, $"/v2/{Repository}/blobs/uploads/?digest={Uri.EscapeDataString(digest)}")
        {
            Content = new ByteArrayContent(content),
        };
        post.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await client.SendAsync(post, ct);
        await ExpectAsync(server, response, HttpStatusCode.Created, ct);
        return digest;
    }

    private static async Task ExpectAsync(ChildServer server, HttpResponseMessage response, HttpStatusCode expected, CancellationToken ct)
    {
        if (response.StatusCode == expected) return;
        var body = await response.Content.ReadAsStringAsync(ct);
        throw new ServerNotFunctionalException(
            $"{server.Name}: {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath} answered " +
            $"{(int)response.StatusCode} '{body}', expected {(int)expected}{Environment.NewLine}{server.OutputTail}");
    }

    private static PhaseSummary Summarise(string name, List<PhaseRound> rounds, double? helloRate = null)
    {
        var rate = BenchRunner.Median(rounds.Select(r => r.Load.RequestsPerSecond).ToList());
        var requests = rounds.Sum(r => r.Load.Requests);
        return new PhaseSummary(
            name,
            rate,
            BenchRunner.Median(rounds.Select(r => r.Load.P50Ms).ToList()),
            BenchRunner.Median(rounds.Select(r => r.Load.P99Ms).ToList()),
            rounds.Sum(r => r.Load.Errors),
            requests == 0 ? double.NaN : rounds.Sum(r => r.ServerCpuSeconds) * 1e6 / requests,
            rounds.Select(r => r.Load.RequestsPerSecond).ToList(),
            helloRate is { } h ? rate / h : null);
    }

    private static void PrintTable(SmallReadsReport report)
    {
        Console.WriteLine();
        Console.WriteLine(
            $"Small reads, {report.Connections} connections, median of {report.Rounds} round(s) of {report.SecondsPerPhase} s per phase");
        Console.WriteLine($"  {"phase",-18}{"req/s",10}{"p50 ms",9}{"p99 ms",9}{"CPU us/req",12}{"errors",8}{"vs hello",10}  target");
        foreach (var p in report.Phases)
        {
            var target = p.Name is "hello" or "/v2/ (floor)" ? "" : $">= {report.RatioTarget:F2}x {BenchRunner.Verdict(p.RatioToHello >= report.RatioTarget && p.Errors == 0)}";
            Console.WriteLine(
                $"  {p.Name,-18}{p.RequestsPerSecond,10:F0}{p.P50Ms,9:F2}{p.P99Ms,9:F2}{p.ServerCpuMicrosecondsPerRequest,12:F1}{p.Errors,8}" +
                $"{(p.RatioToHello is { } r ? r.ToString("F2", CultureInfo.InvariantCulture) + "x" : "-"),10}  {target}");
        }

        Console.WriteLine($"  rounds, req/s: {string.Join("; ", report.Phases.Select(p => $"{p.Name} {string.Join(" / ", p.Rounds.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)))}"))}");
        Console.WriteLine($"  note: {report.Machine}");
    }

    private sealed record Phase(string Name, ChildServer Server, HttpClient Client, LoadShape[] Shapes);

    private sealed record PhaseRound(LoadResult Load, double ServerCpuSeconds);
}

internal sealed record SmallReadsReport(
    string Machine,
    int Cores,
    int Tags,
    int Connections,
    double SecondsPerPhase,
    int Rounds,
    IReadOnlyList<PhaseSummary> Phases,
    double RatioTarget);

internal sealed record PhaseSummary(
    string Name,
    double RequestsPerSecond,
    double P50Ms,
    double P99Ms,
    long Errors,
    double ServerCpuMicrosecondsPerRequest,
    IReadOnlyList<double> Rounds,
    double? RatioToHello);
