using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Storage;
using Registry.Tests.Support;

namespace Registry.Tests.Reliability;

/// <summary>
/// SIGKILL in the middle of 50 concurrent pushes, then a restart on the same storage and search database:
/// acknowledged images survive byte for byte, nothing half-written reads as complete, interrupted pushes can be
/// retried, crash leftovers are gone and the search index matches storage.
/// </summary>
[Category("e2e")]
public class CrashSafetyTests
{
    private const int ImageCount = 50;
    private const int Runs = 3;
    private const int RequestsPerPush = 4;
    private const string Namespace = "crash";

    [Test]
    public async Task Sigkill_during_concurrent_pushes_keeps_acknowledged_images_and_publishes_no_partial_one()
    {
        var rng = new Random(Seeds.Pick("CRASH_SEED"));
        for (var run = 1; run <= Runs; run++)
        {
            var outcome = await RunAsync(run, rng.Next());
            outcome.ImagesLost.Should().Be(0);
        }
    }

    private static async Task<CrashOutcome> RunAsync(int run, int seed)
    {
        var rng = new Random(seed);
        // The 50 pushes stand for 50 clients; from one address the upload cap would refuse most of them.
        await using var server = await RegistryProcess.StartAsync(
            new Dictionary<string, string?> { ["LOGLEVEL"] = "warn", ["MAX_UPLOADS_PER_CLIENT"] = "0" });
        var baseId = V1Client.NewImageId();
        var baseLayer = RandomLayer(rng);
        var pushes = Enumerable.Range(0, ImageCount).Select(i => new Push(i, V1Client.NewImageId(), RandomLayer(rng), baseId)).ToList();

        // Kill after a seeded number of answered requests (not after a time), so the kill point means the same
        // thing on a fast and a slow machine; the extra delay moves it off response boundaries. The pushes advance
        // nearly in step, so run 1 dies among json/layer uploads, run 2 among checksums, run 3 among tags.
        var total = ImageCount * RequestsPerPush;
        var (from, to) = run switch { 1 => (1, total / 2), 2 => (total / 2, total * 3 / 4), _ => (total * 3 / 4, total - 1) };
        var killAfter = rng.Next(from, to);
        var extraDelayMs = rng.Next(0, 20);
        TestContext.Out.WriteLine($"run {run}: seed {seed}, kill after {killAfter} answers + {extraDelayMs} ms");

        using (var client = NewClient(server))
        {
            await client.PushImageAsync(baseId, baseLayer);
            var answered = 0;
            var killNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void Answered()
            {
                if (Interlocked.Increment(ref answered) == killAfter) killNow.TrySetResult();
            }

            var running = pushes.Select(p => PushAsync(client, p, Answered)).ToList();
            await Task.WhenAny(killNow.Task, Task.WhenAll(running)).WaitAsync(TimeSpan.FromSeconds(60));
            await Task.Delay(extraDelayMs);
            await server.KillAsync();
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(60));
        }

        pushes.SelectMany(p => p.UnexpectedAnswers).Should().BeEmpty("every answer before the kill is 200");
        var leftovers = TempFiles(server.StoragePath).Count;
        await server.RestartAsync();
        // The clean-up runs in the background after start-up (the server serves at once): bounded wait for it.
        (await SettledAsync(() => Task.FromResult(TempFiles(server.StoragePath)), files => files.Count == 0))
            .Should().BeEmpty("start-up removes the temp files a crash leaves");

        using var after = NewClient(server);
        var lost = 0;
        var completeUnacknowledged = 0;
        foreach (var p in pushes)
        {
            var (status, body) = await after.GetAsync($"/v1/images/{p.Id}/json").ReadAsync();
            if (p.ChecksumAcknowledged)
            {
                if (status != 200) lost++;
                status.Should().Be(200, $"image {p.Index} had its checksum acknowledged");
            }
            else if (status == 200)
            {
                // The checksum PUT reached the server and committed; only its answer was lost with the process.
                p.ChecksumSent.Should().BeTrue($"image {p.Index} never sent its checksum yet reads as complete");
                completeUnacknowledged++;
            }
            else
            {
                status.Should().BeOneOf([400, 404], $"image {p.Index} is incomplete");
                var layerStatus = (await after.GetAsync($"/v1/images/{p.Id}/layer").ReadAsync()).Status;
                layerStatus.Should().BeOneOf([400, 404], $"the layer of incomplete image {p.Index} must not be served");
                continue;
            }
            body.Should().Be(p.Json);
            await AssertCompleteAsync(after, p, baseId);
        }

        var tagged = await TaggedRepositoriesAsync(after, pushes);
        pushes.Where(p => p.TagAcknowledged).Select(p => p.Repository).Except(tagged).Should().BeEmpty("acknowledged tags survive");
        // After an unclean stop the index catches up with storage in the background.
        (await SettledAsync(() => SearchAsync(after), found => found.Order().SequenceEqual(tagged.Order())))
            .Should().BeEquivalentTo(tagged, "the search index lists exactly the tagged repositories once it caught up");

        foreach (var p in pushes.Where(p => !p.TagAcknowledged))
        {
            if ((await after.GetAsync($"/v1/images/{p.Id}/json").ReadAsync()).Status != 200)
                await after.PushImageAsync(p.Id, p.Layer, baseId);
            (await after.PutTagAsync(p.Repository, "latest", p.Id).ReadAsync()).Should().Be((200, "true"));
        }
        foreach (var p in pushes) await AssertCompleteAsync(after, p, baseId);
        (await SearchAsync(after)).Should().BeEquivalentTo(pushes.Select(p => p.Repository));

        var acknowledged = pushes.Count(p => p.ChecksumAcknowledged);
        TestContext.Out.WriteLine(
            $"run {run}: {acknowledged} acknowledged, {completeUnacknowledged} complete but unacknowledged, " +
            $"{ImageCount - acknowledged - completeUnacknowledged} interrupted, {leftovers} temp files before restart, " +
            $"{tagged.Count} tagged, {lost} lost");
        return new CrashOutcome(lost);
    }

    private static async Task PushAsync(HttpClient client, Push p, Action answered)
    {
        try
        {
            await Step(client.PutJsonAsync(p.Id, p.Json));
            await Step(client.PutLayerAsync(p.Id, p.Layer));
            p.ChecksumSent = true;
            await Step(client.PutChecksumAsync(p.Id, V1Client.PayloadChecksum(p.Json, p.Layer)));
            p.ChecksumAcknowledged = true;
            await Step(client.PutTagAsync(p.Repository, "latest", p.Id));
            p.TagAcknowledged = true;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or StepFailedException)
        {
            // The kill cut this push; what it left behind is checked after the restart.
        }

        async Task Step(Task<HttpResponseMessage> request)
        {
            using var response = await request;
            var body = await response.Content.ReadAsStringAsync();
            answered();
            if ((int)response.StatusCode == 200 && body == "true") return;
            p.UnexpectedAnswers.Add($"image {p.Index}: {(int)response.StatusCode} {body}");
            throw new StepFailedException();
        }
    }

    private static async Task AssertCompleteAsync(HttpClient client, Push p, string baseId)
    {
        (await client.GetAsync($"/v1/images/{p.Id}/json").ReadAsync()).Should().Be((200, p.Json));
        (await client.GetByteArrayAsync($"/v1/images/{p.Id}/layer")).Should().Equal(p.Layer, $"layer of image {p.Index}");
        (await client.GetAsync($"/v1/images/{p.Id}/ancestry").ReadAsync()).Should().Be((200, $"[\"{p.Id}\", \"{baseId}\"]"));
    }

    private static async Task<List<string>> TaggedRepositoriesAsync(HttpClient client, IEnumerable<Push> pushes)
    {
        var tagged = new List<string>();
        foreach (var p in pushes)
        {
            var (status, body) = await client.GetAsync($"/v1/repositories/{p.Repository}/tags").ReadAsync();
            if (status == 404) continue;
            (status, body).Should().Be((200, $"{{\"latest\": \"{p.Id}\"}}"));
            tagged.Add(p.Repository);
        }
        return tagged;
    }

    private static async Task<List<string>> SearchAsync(HttpClient client)
    {
        var (status, body) = await client.GetAsync($"/v1/search?q={Namespace}/&n=100").ReadAsync();
        status.Should().Be(200);
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).ToList();
    }

    /// <summary>Reads until <paramref name="done"/> holds or 30 s pass, and returns the last reading (for the assertion).</summary>
    private static async Task<T> SettledAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var value = await read();
        while (!done(value) && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
            value = await read();
        }

        return value;
    }

    private static List<string> TempFiles(string storage) =>
        Directory.Exists(storage)
            ? Directory.EnumerateFiles(storage, StorageKey.TempPrefix + "*", SearchOption.AllDirectories).ToList()
            : [];

    private static HttpClient NewClient(RegistryProcess server) =>
        new() { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>1 KiB to 2 MiB, log-uniform, so that small and large layers are both in flight at the kill.</summary>
    private static byte[] RandomLayer(Random rng)
    {
        var size = (int)Math.Round(Math.Pow(2, 10 + rng.NextDouble() * 11));
        var layer = new byte[size];
        rng.NextBytes(layer);
        return layer;
    }

    private sealed record CrashOutcome(int ImagesLost);

    private sealed class StepFailedException : Exception;

    /// <summary>One image of the run (a child of the run's base image) and how far its push got before the kill.</summary>
    private sealed class Push(int index, string id, byte[] layer, string parent)
    {
        public int Index { get; } = index;
        public string Id { get; } = id;
        public byte[] Layer { get; } = layer;
        public string Json { get; } = V1Client.ImageJson(id, parent);
        public string Repository => $"{Namespace}/r{Index:D2}";
        public bool ChecksumSent { get; set; }
        public bool ChecksumAcknowledged { get; set; }
        public bool TagAcknowledged { get; set; }
        public List<string> UnexpectedAnswers { get; } = [];
    }
}
