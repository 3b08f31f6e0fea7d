using System.Net;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Cluster;

/// <summary>
/// SIGKILL of one instance of a two-instance cluster (shared Ceph RGW and PostgreSQL) while a layer streams into it:
/// the other instance keeps serving, everything acknowledged before the kill reads back intact from it, and once
/// the killed instance is back the search index of both agrees with what storage holds.
/// </summary>
[TestFixture]
[Category("s3")]
[Category("e2e")]
public sealed class ClusterCrashTests
{
    private static readonly TimeSpan UploadStartTimeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Cluster_instance_killed_mid_push_leaves_the_other_serving_and_search_agreeing_with_storage()
    {
        await using var cluster = await RegistryCluster.StartAsync(2);
        var (a, b) = (cluster[0], cluster[1]);
        var acknowledged = new Dictionary<string, (string Repo, byte[] Layer)>();
        for (var i = 0; i < 3; i++)
        {
            var repo = $"team/crash-done-{i}";
            var id = V1Client.NewImageId();
            var layer = V1Client.RandomBytes(20_000 + i * 50_000);
            (await a.Client.PutIndexAsync($"/v1/repositories/{repo}/", $"[{{\"id\":\"{id}\"}}]").ReadAsync()).Status.Should().Be(200);
            await a.Client.PushImageAsync(id, layer);
            (await a.Client.PutTagAsync(repo, "latest", id).ReadAsync()).Should().Be((200, "true"));
            (await a.Client.PutIndexAsync($"/v1/repositories/{repo}/images", "[]").ReadAsync()).Status.Should().Be(204);
            acknowledged[id] = (repo, layer);
        }

        // The push in flight: repository and image json acknowledged, the layer streaming slowly when A dies.
        var inflight = V1Client.NewImageId();
        (await a.Client.PutIndexAsync("/v1/repositories/team/crash-inflight/", $"[{{\"id\":\"{inflight}\"}}]").ReadAsync()).Status.Should().Be(200);
        (await a.Client.PutJsonAsync(inflight, V1Client.ImageJson(inflight)).ReadAsync()).Should().Be((200, "true"));
        using var slow = new SlowContent(chunk: 64 * 1024, delay: TimeSpan.FromMilliseconds(50));
        using var uploadClient = new HttpClient { BaseAddress = a.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        var upload = uploadClient.PutAsync($"/v1/images/{inflight}/layer", slow);
        (await slow.Sent.Task.WaitAsync(UploadStartTimeout)).Should().BeTrue();

        await a.KillAsync();

        var failed = await upload.ContinueWith(t => t.IsFaulted);
        failed.Should().BeTrue("the connection died with the instance");
        foreach (var (id, (repo, layer)) in acknowledged)
        {
            (await b.Client.GetAsync($"/v1/repositories/{repo}/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{id}\"}}"));
            (await b.Client.GetByteArrayAsync($"/v1/images/{id}/layer")).Should().Equal(layer);
        }
        // The half-pushed image is never served as if complete.
        (await b.Client.GetAsync($"/v1/images/{inflight}/layer").ReadAsync()).Status.Should().Be(400);
        // B still takes pushes while A is down.
        var later = V1Client.NewImageId();
        var laterLayer = V1Client.RandomBytes(30_000);
        (await b.Client.PutIndexAsync("/v1/repositories/team/crash-later/", $"[{{\"id\":\"{later}\"}}]").ReadAsync()).Status.Should().Be(200);
        await b.Client.PushImageAsync(later, laterLayer);
        (await b.Client.PutTagAsync("team/crash-later", "latest", later).ReadAsync()).Should().Be((200, "true"));

        await a.RestartAsync();

        (await a.Client.GetByteArrayAsync($"/v1/images/{later}/layer")).Should().Equal(laterLayer);
        var inStorage = RepositoriesInStorage(await cluster.StorageKeysAsync());
        inStorage.Should().BeEquivalentTo(["team/crash-done-0", "team/crash-done-1", "team/crash-done-2", "team/crash-inflight", "team/crash-later"]);
        foreach (var instance in new[] { a, b })
        {
            (await GcTestKit.SearchNamesAsync(instance.Client, "crash&n=100"))
                .Should().BeEquivalentTo(inStorage, $"search on {instance.BaseAddress} must list exactly what storage holds");
        }

        // The interrupted push can be finished through the restarted instance.
        var finished = V1Client.RandomBytes(10_000);
        (await a.Client.PutJsonAsync(inflight, V1Client.ImageJson(inflight)).ReadAsync()).Should().Be((200, "true"));
        await a.Client.PushImageAsync(inflight, finished);
        (await b.Client.GetByteArrayAsync($"/v1/images/{inflight}/layer")).Should().Equal(finished);
    }

    /// <summary>
    /// The repositories storage holds, read from the bucket's keys by the rule of the layout (docs/storage-layout.md):
    /// a V1 repository with a tag or an index image list, a v2 repository with a tag's current link.
    /// </summary>
    internal static SortedSet<string> RepositoriesInStorage(IEnumerable<string> keys)
    {
        const string v2 = "docker/registry/v2/repositories/";
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var parts = key.Split('/');
            if (parts.Length == 4 && parts[0] == "repositories" && (parts[3].StartsWith("tag_", StringComparison.Ordinal) || parts[3] == "_index_images"))
            {
                names.Add($"{parts[1]}/{parts[2]}");
            }
            else if (key.StartsWith(v2, StringComparison.Ordinal) && key.EndsWith("/current/link", StringComparison.Ordinal)
                     && key.IndexOf("/_manifests/tags/", StringComparison.Ordinal) is var at and > 0)
            {
                names.Add(key[v2.Length..at]);
            }
        }
        return names;
    }

    /// <summary>A request body that never ends by itself: 64 KiB chunks with a pause between them, until the connection dies.</summary>
    private sealed class SlowContent(int chunk, TimeSpan delay) : HttpContent
    {
        /// <summary>Completes once the first megabyte has been written to the connection.</summary>
        public TaskCompletionSource<bool> Sent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var buffer = V1Client.RandomBytes(chunk);
            long written = 0;
            // Bounded: at 64 KiB per 50 ms this is several minutes, far beyond the test's kill.
            for (var i = 0; i < 10_000; i++)
            {
                await stream.WriteAsync(buffer);
                await stream.FlushAsync();
                written += buffer.Length;
                if (written >= 1024 * 1024) Sent.TrySetResult(true);
                await Task.Delay(delay);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
