using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.Core.Maintenance;
using Registry.Tests.Support;
using Registry.V1.Maintenance;

namespace Registry.Tests.Maintenance;

/// <summary>
/// Online safety: several clients push (V1 and v2, each through its HTTP push sequence as docker runs it)
/// and delete older tags while garbage collection runs over and over (a random pause of up to 20 ms between runs) with a grace window of 0, so only the
/// coordinator's touched set and locking keep in-flight pushes alive. A push may fail cleanly and be retried;
/// every push that reported success must read back intact at the end.
/// </summary>
public class GcConcurrencyTests
{
    private const int Clients = 6;
    private const int PushesPerClient = 12;

    // With grace 0, what a push wrote before a collection began and references only after that collection read storage
    // is garbage to it, and the push fails cleanly (MANIFEST_BLOB_UNKNOWN, "Image depends on a non existing parent"; the
    // default grace of an hour keeps it). Collections run back to back with a random pause of up to MaxGcPauseMs between
    // them: without it a collection as short as a push's last round trips fell into step with one retrying push, which
    // then lost its first image 17 times in a row on 2 loaded cores.
    private const int MaxAttempts = 20;
    private const int MaxGcPauseMs = 20;

    // With pauses, a clean failure (what a push wrote first was collected before its last step) is more likely per attempt.
    private const int MaxAttemptsWithPauses = 30;
    private const int MaxGcRuns = 5000;

    private TestRegistry _registry = null!;

    [SetUp]
    public void SetUp() => _registry = TestRegistry.Start(new Dictionary<string, string>
    {
        ["REGISTRY_GC_GRACE_SECONDS"] = "0",
        ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true",
    });

    [TearDown]
    public async Task TearDownAsync() => await _registry.DisposeAsync();

    private sealed record V1Push(string Repository, string Tag, IReadOnlyList<(string Id, string Json, byte[] Layer)> Chain);

    internal sealed record V2Push(string Repository, string Tag, Digest Manifest, byte[] ManifestBytes, IReadOnlyList<(Digest Digest, byte[] Content)> Blobs);

    [Test]
    public async Task Every_push_that_succeeds_while_gc_runs_repeatedly_reads_back_intact()
    {
        var collector = GcTestKit.Collector(_registry, new GcSettings { Grace = TimeSpan.Zero, LeaseSettle = TimeSpan.Zero, BatchSize = 4 });
        await PushWhileCollectingAsync(_registry.Client, [_registry.Client], async () => (await collector.RunAsync()).TotalBytes);
    }

    /// <summary>
    /// The scenario: V1 and v2 pushers on <paramref name="client"/> while <paramref name="collectOnce"/> (a run with grace 0,
    /// returning the bytes it freed) runs over and over; then every push that reported success reads back intact from
    /// each of <paramref name="readers"/>. <paramref name="maxPause"/> (random, up to) between the steps of a push widens the
    /// window between what a push wrote first and the reference it writes last, for collections slower than in-process ones.
    /// </summary>
    internal static async Task PushWhileCollectingAsync(
        HttpClient client, IReadOnlyList<HttpClient> readers, Func<Task<long>> collectOnce, TimeSpan maxPause = default)
    {
        var maxAttempts = maxPause > TimeSpan.Zero ? MaxAttemptsWithPauses : MaxAttempts;
        Task Pause() => maxPause > TimeSpan.Zero ? Task.Delay(Random.Shared.Next((int)maxPause.TotalMilliseconds)) : Task.CompletedTask;
        var baseId = V1Client.NewImageId();
        var baseLayer = V1Client.RandomBytes(3000);
        var baseJson = await client.PushImageAsync(baseId, baseLayer);
        (await client.PutTagAsync("conc/base", "latest", baseId).ReadAsync()).Status.Should().Be(200);
        var sharedLayer = V1Client.RandomBytes(2500);

        var v1Pushed = new ConcurrentBag<V1Push>();
        var v2Pushed = new ConcurrentBag<V2Push>();
        var deletedV1 = new ConcurrentBag<(string, string)>();
        var deletedV2 = new ConcurrentBag<Digest>();
        var refusals = new ConcurrentBag<string>();
        var pushersDone = 0;

        async Task PushV1Async(int c)
        {
            var repository = $"conc/v1-{c}";
            for (var k = 0; k < PushesPerClient; k++)
            {
                var ids = new[] { V1Client.NewImageId(), V1Client.NewImageId() };
                var chain = new List<(string, string, byte[])>
                {
                    (ids[0], V1Client.ImageJson(ids[0], baseId), V1Client.RandomBytes(1000 + k)),
                    (ids[1], V1Client.ImageJson(ids[1], ids[0]), V1Client.RandomBytes(2000 + k)),
                };
                var push = new V1Push(repository, $"t{k}", chain);
                string? refused = "not tried";
                for (var attempt = 0; attempt < maxAttempts && refused is not null; attempt++)
                {
                    refused = await TryPushV1Async(client, push, baseId, Pause);
                    if (refused is not null) refusals.Add($"{repository}:{push.Tag} {refused}");
                }
                refused.Should().BeNull($"push {repository}:{push.Tag} succeeds within {maxAttempts} attempts");
                v1Pushed.Add(push);
                if (k >= 2)
                {
                    // Make garbage: the tag from two pushes ago goes.
                    (await client.DeleteAsync($"/v1/repositories/{repository}/tags/t{k - 2}").ReadAsync()).Should().Be((200, "true"), $"{repository}:t{k - 2} is deleted");
                    deletedV1.Add((repository, $"t{k - 2}"));
                }
            }
        }

        async Task PushV2Async(int c)
        {
            var repository = $"conc/v2-{c}";
            Digest? previous = null;
            for (var k = 0; k < PushesPerClient; k++)
            {
                var blobs = new List<(Digest, byte[])>
                {
                    (Digest.Compute("sha256", Encoding.UTF8.GetBytes($"{{\"c\":{c},\"k\":{k}}}")), Encoding.UTF8.GetBytes($"{{\"c\":{c},\"k\":{k}}}")),
                    (Digest.Compute("sha256", sharedLayer), sharedLayer),
                };
                var own = V1Client.RandomBytes(1500 + k);
                blobs.Add((Digest.Compute("sha256", own), own));
                var manifest = V2Seeder.ManifestJson(ManifestDocument.OciManifest, blobs[0].Item1, blobs.Skip(1).Select(b => b.Item1), null);
                var push = new V2Push(repository, $"t{k}", Digest.Compute("sha256", Encoding.UTF8.GetBytes(manifest)), Encoding.UTF8.GetBytes(manifest), blobs);
                string? refused = "not tried";
                for (var attempt = 0; attempt < maxAttempts && refused is not null; attempt++)
                {
                    refused = await TryPushV2Async(client, push, Pause);
                    if (refused is not null) refusals.Add($"{repository}:{push.Tag} {refused}");
                }
                refused.Should().BeNull($"push {repository}:{push.Tag} succeeds within {maxAttempts} attempts");
                v2Pushed.Add(push);
                if (previous is { } old)
                {
                    (await client.DeleteAsync($"/v2/{repository}/manifests/{old}").ReadAsync()).Status.Should().Be(202, $"{repository}@{old} is deleted");
                    deletedV2.Add(old);
                }
                previous = push.Manifest;
            }
        }

        var pushers = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            try
            {
                await (c % 2 == 0 ? PushV1Async(c) : PushV2Async(c));
            }
            finally
            {
                Interlocked.Increment(ref pushersDone);
            }
        })).ToList();

        var runs = 0;
        long freed = 0;
        var gcLoop = Task.Run(async () =>
        {
            while (Volatile.Read(ref pushersDone) < Clients && runs < MaxGcRuns)
            {
                freed += await collectOnce();
                runs++;
                await Task.Delay(Random.Shared.Next(MaxGcPauseMs + 1));
            }
        });
        try
        {
            await Task.WhenAll(pushers.Append(gcLoop));
            freed += await collectOnce();
        }
        finally
        {
            // Printed whichever way the pushes ended, so that a failed run shows the attempts that led to it.
            TestContext.Out.WriteLine($"{runs} gc runs during the pushes, {refusals.Count} failed push attempts retried, {freed} bytes freed");
            foreach (var refusal in refusals) TestContext.Out.WriteLine(refusal);
        }
        runs.Should().BeGreaterThan(1);
        freed.Should().BeGreaterThan(0, "tags were deleted, so the runs had garbage to take");

        foreach (var reader in readers)
        foreach (var push in v1Pushed.Where(p => !deletedV1.Contains((p.Repository, p.Tag))))
        {
            var pushed = $"{push.Repository}:{push.Tag}";
            (await reader.GetAsync($"/v1/repositories/{push.Repository}/tags/{push.Tag}").ReadAsync()).Should().Be((200, $"\"{push.Chain[^1].Id}\""), pushed);
            (await reader.GetAsync($"/v1/images/{push.Chain[^1].Id}/ancestry").ReadAsync())
                .Should().Be((200, $"[\"{push.Chain[1].Id}\", \"{push.Chain[0].Id}\", \"{baseId}\"]"), pushed);
            foreach (var (id, json, layer) in push.Chain.Append((baseId, baseJson, baseLayer)))
            {
                (await reader.GetAsync($"/v1/images/{id}/json").ReadAsync()).Should().Be((200, json), $"{pushed} image {id}");
                (await ReadBytesAsync(reader, $"/v1/images/{id}/layer")).Should().Equal(layer, $"{pushed} image {id}");
            }
        }
        foreach (var reader in readers)
        foreach (var push in v2Pushed.Where(p => !deletedV2.Contains(p.Manifest)))
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{push.Repository}/manifests/{push.Tag}");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(ManifestDocument.OciManifest));
            var response = await reader.SendAsync(request);
            ((int)response.StatusCode).Should().Be(200, $"{push.Repository}:{push.Tag}");
            (await response.Content.ReadAsByteArrayAsync()).Should().Equal(push.ManifestBytes, $"{push.Repository}:{push.Tag}");
            foreach (var (digest, content) in push.Blobs)
            {
                (await ReadBytesAsync(reader, $"/v2/{push.Repository}/blobs/{digest}")).Should().Equal(content, $"{push.Repository}:{push.Tag} blob {digest}");
            }
        }
        v1Pushed.Should().HaveCount(Clients / 2 * PushesPerClient);
        v2Pushed.Should().HaveCount(Clients / 2 * PushesPerClient);
    }

    /// <summary>The body of a GET that must answer 200; the status and path in the failure otherwise.</summary>
    private static async Task<byte[]> ReadBytesAsync(HttpClient reader, string path)
    {
        using var response = await reader.GetAsync(path);
        ((int)response.StatusCode).Should().Be(200, path);
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>docker 1.x: skip images the registry already has (GET json 200), push the rest, then tag. Null when it succeeded, else the refusal.</summary>
    private static async Task<string?> TryPushV1Async(HttpClient client, V1Push push, string baseId, Func<Task> pause)
    {
        var ids = push.Chain.Select(i => $"{{\"id\": \"{i.Id}\"}}").Prepend($"{{\"id\": \"{baseId}\"}}");
        if (Refused("PUT index", 200, await client.PutIndexAsync($"/v1/repositories/{push.Repository}/", $"[{string.Join(", ", ids)}]").ReadAsync()) is { } index)
            return index;
        foreach (var (id, json, layer) in push.Chain)
        {
            if ((await client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Status == 200) continue;
            if (Refused($"PUT json {id}", 200, await client.PutJsonAsync(id, json).ReadAsync()) is { } j) return j;
            if (Refused($"PUT layer {id}", 200, await client.PutLayerAsync(id, layer).ReadAsync()) is { } l) return l;
            if (Refused($"PUT checksum {id}", 200, await client.PutChecksumAsync(id, V1Client.PayloadChecksum(json, layer)).ReadAsync()) is { } c) return c;
            await pause();
        }
        return Refused($"PUT tag {push.Tag}", 200, await client.PutTagAsync(push.Repository, push.Tag, push.Chain[^1].Id).ReadAsync());
    }

    private static string? Refused(string step, int expected, (int Status, string Body) response) =>
        response.Status == expected ? null : $"{step}: {response.Status} {response.Body}";

    /// <summary>
    /// docker's v2 push: HEAD each blob, upload the missing ones (monolithic POST ?digest=), then PUT the manifest by tag.
    /// Null when it succeeded, else the refusal.
    /// </summary>
    internal static async Task<string?> TryPushV2Async(HttpClient client, V2Push push, Func<Task>? pause = null)
    {
        foreach (var (digest, content) in push.Blobs)
        {
            using (var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{push.Repository}/blobs/{digest}")))
                if (head.StatusCode == HttpStatusCode.OK) continue;
            var upload = await client.PostAsync($"/v2/{push.Repository}/blobs/uploads/?digest={digest}", new ByteArrayContent(content)).ReadAsync();
            if (Refused($"POST blob {digest}", 201, upload) is { } refused) return refused;
        }
        if (pause is not null) await pause();
        var body = new ByteArrayContent(push.ManifestBytes);
        body.Headers.ContentType = new MediaTypeHeaderValue(ManifestDocument.OciManifest);
        return Refused($"PUT manifest {push.Tag}", 201, await client.PutAsync($"/v2/{push.Repository}/manifests/{push.Tag}", body).ReadAsync());
    }
}
