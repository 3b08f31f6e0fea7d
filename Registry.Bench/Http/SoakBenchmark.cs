using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Registry.Bench.Http;

/// <summary>
/// A soak: mixed pushes (each ends in a tag write that moves the repository's tag), pulls, tag reads and searches
/// from many connections for minutes against the real registry, an online garbage collection every few minutes that
/// deletes the images the moved tags left behind, and the server's RSS sampled throughout (it must stay within 20%
/// of its level after the first minute), next to a bare-Kestrel GET /hello baseline driven by the same client in
/// the same run.
/// </summary>
internal static class SoakBenchmark
{
    public const string OptionsHelp =
        "[--seconds 180] [--connections 64] [--baseline-seconds 15] [--max-layer-kib 256] [--gc-every 60] [--gc-grace 30] [--seed N] [--server-dll PATH] [--out FILE]";

    /// <summary>Concurrent pushes the client allows itself: like docker, which pushes a few layers at a time, and below the server's per-client cap.</summary>
    private const int MaxConcurrentPushes = 6;

    private const int SeedRepositories = 40;

    private static readonly string[] Operations = ["push", "pull", "tag read", "search"];

    /// <summary>RSS is judged against its level at this point: the heaps and caches of a busy server are grown by then.</summary>
    private const double RssReferenceSeconds = 60;

    private static readonly TimeSpan GcTimeout = TimeSpan.FromMinutes(15);

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("soak", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(
            args, ["--seconds", "--connections", "--baseline-seconds", "--max-layer-kib", "--gc-every", "--gc-grace", "--seed", "--server-dll", "--out"], []);
        var duration = TimeSpan.FromSeconds(options.GetInt("--seconds", 180, 5, 24 * 3600));
        var connections = options.GetInt("--connections", 64, 1, 4096);
        var baselineDuration = TimeSpan.FromSeconds(options.GetInt("--baseline-seconds", 15, 1, 3600));
        var maxLayer = options.GetInt("--max-layer-kib", 256, 1, 1 << 20) * 1024;
        var seed = options.GetInt("--seed", Random.Shared.Next(), 0, int.MaxValue);
        // 0 turns the collection off. The grace window is short so that each run deletes what the moved tags left.
        var gcEvery = TimeSpan.FromSeconds(options.GetInt("--gc-every", 60, 0, 24 * 3600));
        var gcGrace = options.GetInt("--gc-grace", 30, 1, 24 * 3600);
        var registryDll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));

        Console.WriteLine($"soak: {duration.TotalSeconds} s, {connections} connections, layers up to {maxLayer / 1024} KiB, gc every {gcEvery.TotalSeconds} s (grace {gcGrace} s), seed {seed}");
        Console.WriteLine($"machine: {BenchRunner.MachineNote}");
        await using var baselineServer = await ServerLauncher.StartBaselineAsync(Path.Combine(temp, "baseline"), ct);
        await using var registryServer = await ServerLauncher.StartRegistryAsync(registryDll, Path.Combine(temp, "registry"), ct,
            new Dictionary<string, string> { ["REGISTRY_GC_GRACE_SECONDS"] = gcGrace.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var baselineClient = LoadGenerator.NewClient(baselineServer, connections);
        using var client = LoadGenerator.NewClient(registryServer, connections);

        var state = new SoakState(maxLayer);
        var seedRng = new Random(seed);
        for (var i = 0; i < SeedRepositories; i++)
        {
            var outcome = await PushAsync(client, state, $"soak/seed{i}", seedRng, ct);
            if (outcome.Error is not null) throw new ServerNotFunctionalException($"seeding failed: {outcome.Error}");
        }

        LoadShape[] hello = [new("hello", BaselineServer.HelloPath)];
        await LoadGenerator.RunAsync(baselineClient, hello, connections, TimeSpan.FromSeconds(2), ct);
        var baseline = await LoadGenerator.RunAsync(baselineClient, hello, connections, baselineDuration, ct);
        Console.WriteLine($"  baseline GET /hello: {baseline.RequestsPerSecond:F0} req/s, p99 {baseline.P99Ms:F2} ms, {baseline.Errors} errors");

        var rss = new List<RssPoint>();
        var started = Stopwatch.GetTimestamp();
        rss.Add(new RssPoint(0, registryServer.Sample().RssBytes));
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        using var stopSampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sampler = SampleRssAsync(registryServer, rss, started, stopSampling.Token);
        // Its own client: a collection's answer comes when the run ends, long after the small requests' timeout.
        using var gcClient = new HttpClient { BaseAddress = registryServer.BaseAddress, Timeout = GcTimeout };
        var collections = gcEvery > TimeSpan.Zero ? CollectAsync(gcClient, gcEvery, deadline, ct) : Task.FromResult(new List<GcRound>());
        var workers = Enumerable.Range(0, connections)
            .Select(w => Task.Run(() => WorkerAsync(client, state, new Random(HashCode.Combine(seed, w)), w, deadline, ct), ct))
            .ToArray();
        var results = await Task.WhenAll(workers);
        var gcRounds = await collections;
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await stopSampling.CancelAsync();
        await sampler;
        rss.Add(new RssPoint(seconds, registryServer.Sample().RssBytes));

        var report = Summarise(results, seconds, connections, seed, baseline, rss, state, gcRounds);
        Print(report);
        await BenchRunner.WriteReportAsync(options.GetString("--out"), report, ct);
        if (report.Errors > 0) throw new ServerNotFunctionalException($"{report.Errors} errors during the soak; first: {report.FirstError}");
        if (!report.RssBounded) throw new ServerNotFunctionalException($"RSS grew to {report.RssMaxMiB:F0} MiB, over 1.2x its {report.RssReferenceMiB:F0} MiB after the first minute");
    });

    private static async Task<WorkerResult> WorkerAsync(HttpClient client, SoakState state, Random rng, int worker, long deadline, CancellationToken ct)
    {
        var result = new WorkerResult();
        for (var n = 0; Stopwatch.GetTimestamp() < deadline; n++)
        {
            ct.ThrowIfCancellationRequested();
            var roll = rng.Next(100);
            // 10% pushes (when a push slot is free), 30% pulls, 30% tag reads, 30% searches.
            var operation = roll < 10 && state.PushSlots.Wait(0) ? 0 : roll < 40 ? 1 : roll < 70 ? 2 : 3;
            var started = Stopwatch.GetTimestamp();
            Outcome outcome;
            try
            {
                outcome = operation switch
                {
                    0 => await PushAsync(client, state, $"soak/w{worker}-{n % 16}", rng, ct),
                    1 => await PullAsync(client, state, rng, ct),
                    2 => await TagReadAsync(client, state, rng, ct),
                    _ => await SearchAsync(client, rng, ct),
                };
            }
            catch (HttpRequestException e)
            {
                outcome = new Outcome([], $"{Operations[operation]}: {e.Message}");
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                outcome = new Outcome([], $"{Operations[operation]}: timed out after {client.Timeout.TotalSeconds} s");
            }
            finally
            {
                if (operation == 0) state.PushSlots.Release();
            }
            result.Operations[operation]++;
            result.OperationTicks[operation].Add(Stopwatch.GetTimestamp() - started);
            result.SmallRequestTicks.AddRange(outcome.SmallRequestTicks);
            result.Requests += outcome.Requests;
            if (outcome.Collected) result.PullsOfCollectedImages++;
            if (outcome.Error is not null)
            {
                result.Errors++;
                result.FirstError ??= outcome.Error;
            }
        }
        return result;
    }

    /// <summary>The docker 1.x push of one image: json, layer, checksum, tag.</summary>
    private static async Task<Outcome> PushAsync(HttpClient client, SoakState state, string repository, Random rng, CancellationToken ct)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var json = $"{{\"id\": \"{id}\", \"created\": \"2015-01-01T00:00:00Z\"}}";
        var layer = new byte[rng.Next(1024, state.MaxLayerBytes + 1)];
        rng.NextBytes(layer);
        var checksum = "sha256:" + Convert.ToHexStringLower(SHA256.HashData([.. Encoding.UTF8.GetBytes(json), (byte)'\n', .. layer]));
        var small = new List<long>();

        if (await SmallAsync(client, Put($"/v1/images/{id}/json", json), "true", small, ct) is { } e1) return new Outcome(small, e1);
        var layerContent = new ByteArrayContent(layer);
        layerContent.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using (var response = await client.PutAsync($"/v1/images/{id}/layer", layerContent, ct))
        {
            if (response.StatusCode != HttpStatusCode.OK) return new Outcome(small, $"PUT layer answered {(int)response.StatusCode}", 2);
        }
        var checksumRequest = Put($"/v1/images/{id}/checksum", null);
        checksumRequest.Headers.Add("X-Docker-Checksum-Payload", checksum);
        if (await SmallAsync(client, checksumRequest, "true", small, ct) is { } e3) return new Outcome(small, e3, 3);
        // Known before the tag names it, so that a pull that resolves the tag finds what to expect.
        state.Add(new PushedImage(repository, id, json, layer.Length));
        if (await SmallAsync(client, Put($"/v1/repositories/{repository}/tags/latest", $"\"{id}\""), "true", small, ct) is { } e4)
            return new Outcome(small, e4, 4);
        state.Tagged(repository);
        return new Outcome(small, null, 4);
    }

    /// <summary>
    /// What docker pull does for one tag: resolve it, then ancestry, json and the layer of the image it names. A
    /// collection may delete that image once a push has moved the tag on (as it would under docker): such a pull is
    /// counted apart, never as an error; an image the tag still names must always be whole.
    /// </summary>
    private static async Task<Outcome> PullAsync(HttpClient client, SoakState state, Random rng, CancellationToken ct)
    {
        var repository = state.PickRepository(rng);
        var small = new List<long>();
        var (tagError, id) = await ReadTagAsync(client, repository, small, ct);
        if (tagError is not null) return new Outcome(small, tagError, 1);
        if (state.Find(id!) is not { } image) return new Outcome(small, $"tag latest of {repository} names {id}, which no push wrote", 1);
        var requests = 1;
        string? error;
        if ((error = await SmallAsync(client, Get($"/v1/images/{id}/ancestry"), $"[\"{id}\"]", small, ct)) is null
            && (error = await SmallAsync(client, Get($"/v1/images/{id}/json"), image.Json, small, ct)) is null)
        {
            requests = 4;
            using var response = await client.GetAsync($"/v1/images/{id}/layer", ct);
            var layer = await response.Content.ReadAsByteArrayAsync(ct);
            error = response.StatusCode != HttpStatusCode.OK ? $"GET layer of {id} answered {(int)response.StatusCode}"
                : layer.Length != image.LayerBytes ? $"GET layer of {id}: {layer.Length} bytes, expected {image.LayerBytes}" : null;
        }
        if (error is null) return new Outcome(small, null, requests);
        var (_, now) = await ReadTagAsync(client, repository, small, ct);
        return now is not null && now != id ? new Outcome(small, null, requests + 1, Collected: true) : new Outcome(small, error, requests + 1);
    }

    private static async Task<(string? Error, string? Id)> ReadTagAsync(HttpClient client, string repository, List<long> small, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await client.GetAsync($"/v1/repositories/{repository}/tags/latest", ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        small.Add(Stopwatch.GetTimestamp() - started);
        return response.StatusCode == HttpStatusCode.OK && body.Length == 66 && body[0] == '"' && body[^1] == '"'
            ? (null, body[1..^1])
            : ($"GET /v1/repositories/{repository}/tags/latest answered {(int)response.StatusCode} {body}", null);
    }

    private static async Task<Outcome> TagReadAsync(HttpClient client, SoakState state, Random rng, CancellationToken ct)
    {
        var small = new List<long>();
        // The tag may have moved on to a newer push of the same repository: any id is fine, a missing tag is not.
        var (error, _) = await ReadTagAsync(client, state.PickRepository(rng), small, ct);
        return new Outcome(small, error);
    }

    /// <summary>
    /// <c>POST /v1/_gc?delete_untagged=true</c> every <paramref name="every"/> until the deadline, as an operator's
    /// cron job would: each must answer 200 with its report (the bench's registry runs without authentication, where
    /// the local host may collect).
    /// </summary>
    private static async Task<List<GcRound>> CollectAsync(HttpClient client, TimeSpan every, long deadline, CancellationToken ct)
    {
        var rounds = new List<GcRound>();
        while (Stopwatch.GetTimestamp() + (long)(every.TotalSeconds * Stopwatch.Frequency) < deadline)
        {
            await Task.Delay(every, ct);
            var started = Stopwatch.GetTimestamp();
            HttpResponseMessage response;
            try
            {
                response = await client.PostAsync("/v1/_gc?delete_untagged=true", null, ct);
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !ct.IsCancellationRequested))
            {
                rounds.Add(new GcRound(Stopwatch.GetElapsedTime(started).TotalSeconds, 0, 0, $"POST /v1/_gc: {e.Message}"));
                continue;
            }
            using var answered = response;
            var body = await response.Content.ReadAsStringAsync(ct);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                rounds.Add(new GcRound(seconds, 0, 0, $"POST /v1/_gc answered {(int)response.StatusCode} {body}"));
                continue;
            }
            using var report = System.Text.Json.JsonDocument.Parse(body);
            rounds.Add(new GcRound(seconds, report.RootElement.GetProperty("total_items").GetInt32(), report.RootElement.GetProperty("total_bytes").GetInt64(), null));
        }
        return rounds;
    }

    private static async Task<Outcome> SearchAsync(HttpClient client, Random rng, CancellationToken ct)
    {
        string[] terms = ["soak", "seed1", "w3-", "zzz-none", "s"];
        var small = new List<long>();
        var error = await SmallAsync(client, Get($"/v1/search?q={terms[rng.Next(terms.Length)]}&n=25"), null, small, ct);
        return new Outcome(small, error);
    }

    /// <summary>Sends one small request; null when it answered 200 (with <paramref name="expectedBody"/> if given), else the error.</summary>
    private static async Task<string?> SmallAsync(HttpClient client, HttpRequestMessage request, string? expectedBody, List<long> ticks, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await client.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        ticks.Add(Stopwatch.GetTimestamp() - started);
        if (response.StatusCode != HttpStatusCode.OK)
            return $"{request.Method} {request.RequestUri} answered {(int)response.StatusCode} {body}";
        return expectedBody is null || body == expectedBody ? null : $"{request.Method} {request.RequestUri}: unexpected body {body}";
    }

    private static HttpRequestMessage Get(string path) => new(HttpMethod.Get, path);

    private static HttpRequestMessage Put(string path, string? json) => new(HttpMethod.Put, path)
    {
        Content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json"),
    };

    private static async Task SampleRssAsync(ChildServer server, List<RssPoint> samples, long started, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                var point = new RssPoint(Stopwatch.GetElapsedTime(started).TotalSeconds, server.Sample().RssBytes);
                lock (samples) samples.Add(point);
            }
        }
        catch (OperationCanceledException)
        {
            // Sampling ends with the soak.
        }
    }

    private static SoakReport Summarise(
        WorkerResult[] results, double seconds, int connections, int seed, LoadResult baseline, List<RssPoint> rss, SoakState state, List<GcRound> gc)
    {
        var small = results.SelectMany(r => r.SmallRequestTicks).Order().ToArray();
        var requests = results.Sum(r => r.Requests);
        var perOperation = Operations.Select((name, i) =>
        {
            var ticks = results.SelectMany(r => r.OperationTicks[i]).Order().ToArray();
            return new OperationFigures(name, ticks.Length, ticks.Length / seconds, PercentileMs(ticks, 0.50), PercentileMs(ticks, 0.99));
        }).ToList();
        var ordered = rss.OrderBy(p => p.Seconds).ToList();
        var middle = ordered.MinBy(p => Math.Abs(p.Seconds - seconds / 2))!;
        // A short soak is judged from its middle instead of the first minute.
        var referenceSeconds = Math.Min(RssReferenceSeconds, seconds / 2);
        var reference = ordered.MinBy(p => Math.Abs(p.Seconds - referenceSeconds))!;
        var startMiB = ordered[0].Bytes / 1048576.0;
        var middleMiB = middle.Bytes / 1048576.0;
        var endMiB = ordered[^1].Bytes / 1048576.0;
        var referenceMiB = reference.Bytes / 1048576.0;
        var maxAfterMiB = ordered.Where(p => p.Seconds >= reference.Seconds).Max(p => p.Bytes) / 1048576.0;
        var maxMiB = ordered.Max(p => p.Bytes) / 1048576.0;
        // Bounded (issue 18, item 6): never more than 20% above the level after the first minute.
        var bounded = maxAfterMiB <= referenceMiB * 1.2;
        var curve = Enumerable.Range(0, 11)
            .Select(i => ordered.MinBy(p => Math.Abs(p.Seconds - seconds * i / 10))!)
            .Select(p => new RssPoint(Math.Round(p.Seconds, 1), p.Bytes)).ToList();
        return new SoakReport(
            BenchRunner.MachineNote, Environment.ProcessorCount, seed, connections, seconds, requests, requests / seconds,
            results.Sum(r => r.Errors) + gc.Count(g => g.Error is not null),
            gc.Select(g => g.Error).FirstOrDefault(e => e is not null) ?? results.Select(r => r.FirstError).FirstOrDefault(e => e is not null),
            PercentileMs(small, 0.50), PercentileMs(small, 0.99), perOperation, state.Count,
            baseline.RequestsPerSecond, baseline.P99Ms, requests / seconds / baseline.RequestsPerSecond,
            startMiB, middleMiB, endMiB, maxMiB, referenceMiB, bounded, curve,
            gc.Count, gc.Count == 0 ? 0 : gc.Max(g => g.Seconds), gc.Sum(g => g.Items), gc.Sum(g => g.Bytes), results.Sum(r => r.PullsOfCollectedImages));
    }

    private static double PercentileMs(long[] sortedTicks, double quantile) =>
        sortedTicks.Length == 0
            ? double.NaN
            : sortedTicks[Math.Max(1, (int)Math.Ceiling(quantile * sortedTicks.Length)) - 1] * 1000.0 / Stopwatch.Frequency;

    private static void Print(SoakReport r)
    {
        Console.WriteLine();
        Console.WriteLine($"Soak: {r.Seconds:F0} s, {r.Connections} connections, seed {r.Seed}");
        Console.WriteLine($"  registry: {r.Requests} requests, {r.RequestsPerSecond:F0} req/s, {r.Errors} errors; small requests p50 {r.SmallP50Ms:F2} ms, p99 {r.SmallP99Ms:F2} ms");
        foreach (var o in r.Operations)
            Console.WriteLine($"    {o.Operation,-10}{o.Count,9} ops {o.PerSecond,8:F0}/s   p50 {o.P50Ms,8:F2} ms   p99 {o.P99Ms,8:F2} ms");
        Console.WriteLine($"  baseline GET /hello: {r.BaselineRequestsPerSecond:F0} req/s, p99 {r.BaselineP99Ms:F2} ms; ratio registry/baseline {r.Ratio:F3}");
        Console.WriteLine($"  garbage collections: {r.GcRuns}, longest {r.GcLongestSeconds:F1} s, {r.GcItems} items ({r.GcBytes / 1048576.0:F0} MiB) deleted; pulls whose tag moved and image was collected meanwhile: {r.PullsOfCollectedImages}");
        Console.WriteLine($"  RSS MiB: start {r.RssStartMiB:F0}, after {Math.Min(RssReferenceSeconds, r.Seconds / 2):F0} s {r.RssReferenceMiB:F0}, middle {r.RssMiddleMiB:F0}, end {r.RssEndMiB:F0}, max {r.RssMaxMiB:F0} -> {(r.RssBounded ? "within 20%" : "GREW OVER 20%")}");
        Console.WriteLine("  RSS curve: " + string.Join("  ", r.RssCurve.Select(p => $"{p.Seconds:F0}s={p.Bytes / 1048576.0:F0}")));
        Console.WriteLine($"  images pushed: {r.ImagesPushed}");
        if (r.FirstError is not null) Console.WriteLine($"  first error: {r.FirstError}");
        Console.WriteLine($"  note: {r.Machine}");
    }

    /// <summary>One complete push, what a pull of the tag that names it must get.</summary>
    private sealed record PushedImage(string Repository, string Id, string Json, int LayerBytes);

    private sealed record GcRound(double Seconds, int Items, long Bytes, string? Error);

    private sealed class SoakState(int maxLayerBytes)
    {
        private readonly Dictionary<string, PushedImage> _images = [];
        private readonly List<string> _repositories = [];
        private readonly HashSet<string> _tagged = [];
        private readonly Lock _lock = new();

        public int MaxLayerBytes { get; } = maxLayerBytes;

        public SemaphoreSlim PushSlots { get; } = new(MaxConcurrentPushes, MaxConcurrentPushes);

        public int Count
        {
            get
            {
                lock (_lock) return _images.Count;
            }
        }

        public void Add(PushedImage image)
        {
            lock (_lock) _images[image.Id] = image;
        }

        public void Tagged(string repository)
        {
            lock (_lock)
                if (_tagged.Add(repository)) _repositories.Add(repository);
        }

        public PushedImage? Find(string id)
        {
            lock (_lock) return _images.GetValueOrDefault(id);
        }

        public string PickRepository(Random rng)
        {
            lock (_lock) return _repositories[rng.Next(_repositories.Count)];
        }
    }

    private sealed record Outcome(List<long> SmallRequestTicks, string? Error, int Requests = 1, bool Collected = false);

    private sealed class WorkerResult
    {
        public long[] Operations { get; } = new long[4];
        public List<long>[] OperationTicks { get; } = [[], [], [], []];
        public List<long> SmallRequestTicks { get; } = [];
        public long Requests { get; set; }
        public long Errors { get; set; }
        public long PullsOfCollectedImages { get; set; }
        public string? FirstError { get; set; }
    }
}

internal sealed record RssPoint(double Seconds, long Bytes);

internal sealed record OperationFigures(string Operation, long Count, double PerSecond, double P50Ms, double P99Ms);

internal sealed record SoakReport(
    string Machine,
    int Cores,
    int Seed,
    int Connections,
    double Seconds,
    long Requests,
    double RequestsPerSecond,
    long Errors,
    string? FirstError,
    double SmallP50Ms,
    double SmallP99Ms,
    IReadOnlyList<OperationFigures> Operations,
    int ImagesPushed,
    double BaselineRequestsPerSecond,
    double BaselineP99Ms,
    double Ratio,
    double RssStartMiB,
    double RssMiddleMiB,
    double RssEndMiB,
    double RssMaxMiB,
    double RssReferenceMiB,
    bool RssBounded,
    IReadOnlyList<RssPoint> RssCurve,
    int GcRuns,
    double GcLongestSeconds,
    int GcItems,
    long GcBytes,
    long PullsOfCollectedImages);
