using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;

namespace Registry.Bench.Http;

/// <summary>
/// The registry's v2 blob upload against the .NET ceiling in the same run: bare Kestrel's drain-only PUT (reads the
/// body, touches no byte) and its hash-and-store PUT (without and with the fsync the registry does before its 201),
/// next to the registry's docker push (POST, one chunked PATCH, PUT <c>?digest=</c>) and monolithic push (POST
/// <c>?digest=</c> with the body). The client generates the same bytes for every target, so its cost is the same
/// everywhere; their digest is computed before the clock starts, so the client does not hash while the server does
/// (on two cores a client that hashes takes the core the server's hashing needs). Rounds rotate the order. On a shared machine
/// the drain alone scatters several-fold between rounds, so each target is judged by its ratio to the drain of the
/// same round (sent next to it), as the median over the rounds with the spread of those ratios beside it.
/// </summary>
internal static class UploadCeilingBenchmark
{
    public const string OptionsHelp = "[--size-mib 512] [--rounds 7] [--server-dll PATH] [--out FILE]";

    private const double RatioTarget = 0.85;
    private const string Repository = "bench/upload";
    private const long WarmupBytes = 16L << 20;
    private const int WarmupUploads = 6;

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("upload-ceiling", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args, ["--size-mib", "--rounds", "--server-dll", "--out"], []);
        var sizeMib = options.GetInt("--size-mib", 512, 1, 1 << 20);
        var rounds = options.GetInt("--rounds", 7, 1, 99);
        var registryDll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));

        Console.WriteLine($"upload-ceiling benchmark: {sizeMib} MiB bodies, {rounds} rotating rounds");
        Console.WriteLine($"machine: {BenchRunner.MachineNote}; load average {BenchRunner.LoadAverage()}");

        await using var baselineServer = await ServerLauncher.StartBaselineAsync(Path.Combine(temp, "baseline"), ct);
        await using var registryServer = await ServerLauncher.StartRegistryAsync(registryDll, Path.Combine(temp, "registry"), ct);
        using var baselineClient = NewClient(baselineServer);
        using var registryClient = NewClient(registryServer);

        var targets = new UploadTarget[]
        {
            new("drain (bare Kestrel)", baselineServer, (size, seed, digest, token) => BaselinePutAsync(baselineServer, baselineClient, BaselineServer.DrainPath, size, seed, digest, token)),
            new("hash+store (bare Kestrel)", baselineServer, (size, seed, digest, token) => BaselinePutAsync(baselineServer, baselineClient, BaselineServer.UploadPath, size, seed, digest, token)),
            new("hash+store+fsync (bare Kestrel)", baselineServer, (size, seed, digest, token) => BaselinePutAsync(baselineServer, baselineClient, BaselineServer.DurableUploadPath, size, seed, digest, token)),
            new("registry v2 POST+PATCH+PUT", registryServer, (size, seed, digest, token) => DockerPushAsync(registryServer, registryClient, size, seed, digest, token)),
            new("registry v2 monolithic POST", registryServer, (size, seed, digest, token) => MonolithicPushAsync(registryServer, registryClient, size, seed, digest, token)),
        };

        // Enough round trips for tiered JIT to settle on both servers before the timed rounds.
        foreach (var target in targets)
            for (var i = 0; i < WarmupUploads; i++) await target.Send(WarmupBytes, (ulong)(1000 + i), await DigestOfAsync(WarmupBytes, (ulong)(1000 + i), ct), ct);
        foreach (var server in new[] { baselineServer, registryServer })
        {
            var quiet = await server.WaitUntilQuietAsync(ct);
            Console.WriteLine($"  warm-up ok: {server.Name} (pid {server.Pid}), quiet after {quiet.TotalSeconds:F1} s");
        }

        var size = (long)sizeMib << 20;
        var figures = targets.ToDictionary(t => t.Name, _ => new List<TransferResult>());
        // This process's CPU per GiB (generating and sending the body): it shares the cores with the server.
        var clientCpu = targets.ToDictionary(t => t.Name, _ => new List<double>());
        var loads = new List<string>();
        var drainTarget = targets[0];
        var others = targets[1..];
        for (var round = 1; round <= rounds; round++)
        {
            // The drain opens and closes each round, so every other target is sent between two drains of its own
            // minute; the others rotate so that none always meets the page cache the previous one left dirty.
            var order = new[] { drainTarget }
                .Concat(others.Skip((round - 1) % others.Length)).Concat(others.Take((round - 1) % others.Length))
                .Append(drainTarget).ToArray();
            for (var position = 0; position < order.Length; position++)
            {
                var target = order[position];
                var seed = (ulong)(round * 100 + position);
                var digest = await DigestOfAsync(size, seed, ct);
                var cpuBefore = target.Server.Sample().CpuTime;
                var clientBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var started = Stopwatch.GetTimestamp();
                await target.Send(size, seed, digest, ct);
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var result = new TransferResult(size, seconds, (target.Server.Sample().CpuTime - cpuBefore).TotalSeconds);
                figures[target.Name].Add(result);
                clientCpu[target.Name].Add((Process.GetCurrentProcess().TotalProcessorTime - clientBefore).TotalSeconds / (size / (double)(1L << 30)));
                Console.WriteLine(
                    $"  round {round} {target.Name}: {result.MegabytesPerSecond:F1} MB/s, server CPU {result.ServerCpuSecondsPerGib:F2} s/GiB, " +
                    $"client CPU {clientCpu[target.Name][^1]:F2} s/GiB");
            }
            loads.Add(BenchRunner.LoadAverage());
            Console.WriteLine($"  round {round} done, load average {loads[^1]}");
        }

        // A round's drain rate is its two drains together: bytes over seconds.
        var drain = figures[drainTarget.Name].Chunk(2).Select(pair => pair.Sum(r => r.Bytes) / 1e6 / pair.Sum(r => r.Seconds)).ToList();
        var drainCpu = BenchRunner.Median(figures[drainTarget.Name].Select(r => r.ServerCpuSecondsPerGib).ToList())
            + BenchRunner.Median(clientCpu[drainTarget.Name]);
        var rows = targets.Select(t =>
        {
            var results = figures[t.Name];
            var serverCpu = BenchRunner.Median(results.Select(r => r.ServerCpuSecondsPerGib).ToList());
            var client = BenchRunner.Median(clientCpu[t.Name]);
            // Paired with the drains of the same round: the load of the moment moves both.
            var ratios = t == drainTarget
                ? results.Select((r, i) => r.MegabytesPerSecond / drain[i / 2]).ToList()
                : results.Select((r, i) => r.MegabytesPerSecond / drain[i]).ToList();
            return new UploadRow(
                t.Name,
                BenchRunner.Median(results.Select(r => r.MegabytesPerSecond).ToList()),
                serverCpu,
                client,
                drainCpu / (serverCpu + client),
                results.Select(r => r.MegabytesPerSecond).ToList(),
                BenchRunner.Median(ratios),
                ratios);
        }).ToList();
        var report = new UploadCeilingReport(BenchRunner.MachineNote, Environment.ProcessorCount, sizeMib, rounds, rows, RatioTarget, loads);

        Console.WriteLine();
        Console.WriteLine($"Upload ceiling, {sizeMib} MiB, {rounds} round(s), medians (MB = 10^6 bytes); x drain is the median of each round's ratio to the two drains that open and close it");
        Console.WriteLine("  CPU bound: the drain's server and client CPU per GiB over this target's, the ratio to the drain a machine whose cores are all busy allows");
        Console.WriteLine($"  {"target",-33}{"MB/s",9}{"min-max",13}{"CPU s/GiB",11}{"client",8}{"CPU bound",11}{"x drain",9}{"min-max",13}");
        foreach (var row in rows)
        {
            var verdict = row.Name.StartsWith("registry", StringComparison.Ordinal) ? $"  {BenchRunner.Verdict(row.RatioToDrain >= RatioTarget)} (>= {RatioTarget:F2}x)" : "";
            Console.WriteLine(
                $"  {row.Name,-33}{row.MegabytesPerSecond,9:F1}{$"{row.Rounds.Min():F0}-{row.Rounds.Max():F0}",13}{row.ServerCpuSecondsPerGib,11:F2}" +
                $"{row.ClientCpuSecondsPerGib,8:F2}{row.CpuBoundRatio,10:F2}x{row.RatioToDrain,8:F2}x{$"{row.RoundRatios.Min():F2}-{row.RoundRatios.Max():F2}",13}{verdict}");
        }

        var hashCpu = Sha256CpuSecondsPerGib();
        Console.WriteLine(
            $"  SHA-256 alone on this CPU: {hashCpu:F2} s/GiB; hashing every byte on top of the drain allows at most " +
            $"{drainCpu / (drainCpu + hashCpu):F2}x drain while the cores are all busy, before any byte is stored");
        Console.WriteLine($"  load average after each round: {string.Join(" | ", loads)}");
        Console.WriteLine($"  note: {report.Machine}");
        await BenchRunner.WriteReportAsync(options.GetString("--out"), report, ct);
    });

    /// <summary>The CPU seconds SHA-256 takes per GiB here, from 1 GiB hashed in 1 MiB blocks on this thread.</summary>
    private static double Sha256CpuSecondsPerGib()
    {
        var block = new byte[1 << 20];
        Random.Shared.NextBytes(block);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var before = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < 1024; i++) sha256.AppendData(block);
        sha256.GetHashAndReset();
        return (Process.GetCurrentProcess().TotalProcessorTime - before).TotalSeconds;
    }

    private static HttpClient NewClient(ChildServer server) => new(new SocketsHttpHandler
    {
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
    })
    {
        BaseAddress = server.BaseAddress,
        // Bounded: a 2 GiB upload at a pessimistic 20 MB/s still fits.
        Timeout = TimeSpan.FromMinutes(10),
    };

    /// <summary>PUT of a chunked body to the baseline; the drain answers the byte count, the store the SHA-256 hex.</summary>
    private static async Task BaselinePutAsync(ChildServer server, HttpClient client, string path, long size, ulong seed, string digest, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new LayerContent(size, seed, null) };
        request.Headers.TransferEncodingChunked = true;
        using var response = await SendAsync(server, client, request, HttpStatusCode.OK, ct);
        var answer = await response.Content.ReadAsStringAsync(ct);
        var expected = path == BaselineServer.DrainPath
            ? size.ToString(CultureInfo.InvariantCulture)
            : digest["sha256:".Length..];
        if (answer != expected) throw new ServerNotFunctionalException($"{server.Name}: PUT {path} answered '{answer}', expected '{expected}'");
    }

    /// <summary>What docker 20.10 sends (docs/client-behaviour.md, 'docker push (v2)'): POST, one chunked PATCH, PUT <c>?digest=</c> with no body.</summary>
    private static async Task DockerPushAsync(ChildServer server, HttpClient client, long size, ulong seed, string digest, CancellationToken ct)
    {
        string location;
        using (var response = await SendAsync(server, client,
                   new HttpRequestMessage(HttpMethod.Post, $"/v2/{Repository}/blobs/uploads/") { Content = new ByteArrayContent([]) },
                   HttpStatusCode.Accepted, ct))
            location = response.Headers.Location!.OriginalString;

        var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new LayerContent(size, seed, null) };
        patch.Headers.TransferEncodingChunked = true;
        using (var response = await SendAsync(server, client, patch, HttpStatusCode.Accepted, ct))
            location = response.Headers.Location!.OriginalString;

        var separator = location.Contains('?') ? '&' : '?';
        using var put = await SendAsync(server, client,
            new HttpRequestMessage(HttpMethod.Put, $"{location}{separator}digest={Uri.EscapeDataString(digest)}") { Content = new ByteArrayContent([]) },
            HttpStatusCode.Created, ct);
    }

    /// <summary>
    /// The digest of the generated body, computed before the clock starts: a monolithic POST must name it in the URL
    /// before the first byte is sent.
    /// </summary>
    private static async Task<string> DigestOfAsync(long size, ulong seed, CancellationToken ct)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await new LayerContent(size, seed, sha256).CopyToAsync(Stream.Null, ct);
        return "sha256:" + Convert.ToHexStringLower(sha256.GetHashAndReset());
    }

    /// <summary>POST <c>?digest=</c> with the whole blob as a chunked body (Docker Registry HTTP API V2, 'Monolithic Upload').</summary>
    private static async Task MonolithicPushAsync(ChildServer server, HttpClient client, long size, ulong seed, string digest, CancellationToken ct)
    {
        var post = new HttpRequestMessage(HttpMethod.Post, $"/v2/{Repository}/blobs/uploads/?digest={Uri.EscapeDataString(digest)}")
        {
            Content = new LayerContent(size, seed, null),
        };
        post.Headers.TransferEncodingChunked = true;
        using var response = await SendAsync(server, client, post, HttpStatusCode.Created, ct);
    }

    private static async Task<HttpResponseMessage> SendAsync(
        ChildServer server, HttpClient client, HttpRequestMessage request, HttpStatusCode expected, CancellationToken ct)
    {
        var what = $"{request.Method} {request.RequestUri}";
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw new ServerNotFunctionalException($"{server.Name}: {what} failed: {e.Message}{Environment.NewLine}{server.OutputTail}");
        }

        if (response.StatusCode == expected) return response;
        var body = await response.Content.ReadAsStringAsync(ct);
        response.Dispose();
        throw new ServerNotFunctionalException(
            $"{server.Name}: {what} answered {(int)response.StatusCode} '{body}', expected {(int)expected}{Environment.NewLine}{server.OutputTail}");
    }

    private sealed record UploadTarget(string Name, ChildServer Server, Func<long, ulong, string, CancellationToken, Task> Send);
}

internal sealed record UploadCeilingReport(
    string Machine, int Cores, int SizeMib, int Rounds, IReadOnlyList<UploadRow> Targets, double RatioTarget, IReadOnlyList<string> LoadAverages);

/// <summary>One target's medians; <see cref="RoundRatios"/> are its rates over the drain's, round by round;
/// <see cref="CpuBoundRatio"/> is the drain's server plus client CPU per GiB over this target's.</summary>
internal sealed record UploadRow(
    string Name, double MegabytesPerSecond, double ServerCpuSecondsPerGib, double ClientCpuSecondsPerGib, double CpuBoundRatio,
    IReadOnlyList<double> Rounds, double RatioToDrain, IReadOnlyList<double> RoundRatios);
