using System.Text;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Core.Maintenance;
using Registry.Tests.Support;
using Registry.Tests.V2;
using Registry.V1.Maintenance;

namespace Registry.Tests.Maintenance;

/// <summary>
/// docs/garbage-collection.md, 'Guarantees' G8: a push is told by a lookup that a layer or a manifest (v2 HEAD) or an
/// image (V1 GET json) exists, skips it, and names it later; a collection that starts in between, before the reference arrives, keeps
/// it, even on a restarted server (the record is the file's time in storage). The grace period is 10 minutes, so a lookup
/// renews a file older than 2.5 minutes; files are aged by setting their times back.
/// </summary>
public class GcLookupTests
{
    private const string GraceSeconds = "600";
    private static readonly TimeSpan Old = TimeSpan.FromHours(2);

    private TestRegistry _registry = null!;

    [SetUp]
    public void SetUp() => _registry = Start();

    [TearDown]
    public async Task TearDownAsync() => await _registry.DisposeAsync();

    private static TestRegistry Start(string? root = null, params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string> { ["REGISTRY_GC_GRACE_SECONDS"] = GraceSeconds, ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true" };
        foreach (var (key, value) in extra) env[key] = value;
        return TestRegistry.Start(env, root);
    }

    private async Task RestartAsync(params (string Key, string Value)[] extra)
    {
        await _registry.StopAsync();
        _registry = Start(_registry.Root, extra);
    }

    private string Root => _registry.StorageRoot;

    private static string LinkFile(string repository, string digest) => DistributionPaths.LayerLink(repository, Digest.ParseOrNull(digest)!);

    private static string BlobDir(string digest) => DistributionPaths.BlobDir(Digest.ParseOrNull(digest)!);

    private DateTime TimeOf(string storagePath) => File.GetLastWriteTimeUtc(Path.Combine(Root, storagePath));

    private void Age(params string[] storagePaths)
    {
        foreach (var path in storagePaths) GcTestKit.Backdate(Root, path, Old);
    }

    private async Task<HttpResponseMessage> HeadAsync(string repository, string digest) =>
        await _registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}"));

    private Task<GcReport> CollectAsync() => _registry.Services.GetRequiredService<GarbageCollector>().RunAsync();

    [Test]
    public async Task A_layer_that_HEAD_found_survives_a_collection_that_starts_before_its_manifest_arrives_even_after_a_restart()
    {
        var client = _registry.Client;
        var foundBytes = V1Client.RandomBytes(3000);
        var found = await V2Blobs.PushAsync(client, "lib/app", foundBytes);
        var missed = await V2Blobs.PushAsync(client, "lib/app", V1Client.RandomBytes(2000));
        // Both left by a deleted manifest long ago: unreferenced and older than the grace period.
        Age(LinkFile("lib/app", found), BlobDir(found), LinkFile("lib/app", missed), BlobDir(missed));

        using (var head = await HeadAsync("lib/app", found))
        {
            ((int)head.StatusCode).Should().Be(200);
            head.Content.Headers.ContentLength.Should().Be(3000);
            head.Header("Docker-Content-Digest").Should().Be(found);
        }
        TimeOf(LinkFile("lib/app", found)).Should().BeCloseTo(DateTime.UtcNow, TimeSpan.FromMinutes(1), "the lookup renewed the link's time");
        File.ReadAllText(Path.Combine(Root, LinkFile("lib/app", found))).Should().Be(found, "the link is rewritten with its own target");
        TimeOf(BlobDir(found) + "/data").Should().BeCloseTo(DateTime.UtcNow - Old, TimeSpan.FromMinutes(1), "the data keeps its time");

        // A restart forgets every in-memory touch; the collection sees only storage.
        await RestartAsync();
        var report = await CollectAsync();

        report.Ids(GcItemKind.Blob).Should().Equal(missed);
        report.Ids(GcItemKind.LayerLink).Should().Equal(missed);
        var config = await V2Blobs.PushAsync(_registry.Client, "lib/app", Encoding.UTF8.GetBytes("{\"app\":1}"));
        using (var put = await _registry.Client.PutManifestAsync("lib/app", "latest", Encoding.UTF8.GetBytes(V2Seeder.ManifestJson(ManifestDocument.OciManifest, Digest.ParseOrNull(config), [Digest.ParseOrNull(found)!], null)), "application/vnd.oci.image.manifest.v1+json"))
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
        using var get = await _registry.Client.GetAsync($"/v2/lib/app/blobs/{found}");
        ((int)get.StatusCode).Should().Be(200);
        (await get.Content.ReadAsByteArrayAsync()).Should().Equal(foundBytes);
        using var gone = await HeadAsync("lib/app", missed);
        ((int)gone.StatusCode).Should().Be(404);
    }

    [Test]
    public async Task An_untagged_manifest_that_HEAD_by_digest_found_survives_a_delete_untagged_collection_before_the_index_naming_it_arrives()
    {
        var client = _registry.Client;
        async Task<Digest> PushUntaggedAsync(string seed)
        {
            var config = await V2Blobs.PushAsync(client, "lib/app", Encoding.UTF8.GetBytes($"{{\"platform\":\"{seed}\"}}"));
            var layer = await V2Blobs.PushAsync(client, "lib/app", V1Client.RandomBytes(1000));
            var body = Encoding.UTF8.GetBytes(V2Seeder.ManifestJson(ManifestDocument.OciManifest, Digest.ParseOrNull(config), [Digest.ParseOrNull(layer)!], null));
            var digest = Digest.Compute("sha256", body);
            using var put = await client.PutManifestAsync("lib/app", digest.ToString(), body, ManifestDocument.OciManifest);
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
            return digest;
        }
        var (found, missed) = (await PushUntaggedAsync("amd64"), await PushUntaggedAsync("arm64"));
        // An index pushed long ago and deleted since left both platform manifests untagged.
        Age(DistributionPaths.RepositoryDir("lib/app"), DistributionPaths.BlobsDir);

        // containerd asks for each manifest of the index it is about to push.
        using (var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/lib/app/manifests/{found}")))
        {
            ((int)head.StatusCode).Should().Be(200);
            head.Header("Docker-Content-Digest").Should().Be(found.ToString());
        }
        TimeOf(DistributionPaths.RevisionLink("lib/app", found)).Should().BeCloseTo(DateTime.UtcNow, TimeSpan.FromMinutes(1));

        await RestartAsync();
        var report = await _registry.Services.GetRequiredService<GarbageCollector>().RunAsync(deleteUntagged: true);

        report.Ids(GcItemKind.Manifest).Should().Equal(missed.ToString());
        var index = Encoding.UTF8.GetBytes(V2Seeder.ManifestJson(ManifestDocument.OciIndex, null, [found], null));
        using (var put = await _registry.Client.PutManifestAsync("lib/app", "latest", index, ManifestDocument.OciIndex))
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
        using var get = await _registry.Client.GetAsync($"/v2/lib/app/manifests/{found}");
        ((int)get.StatusCode).Should().Be(200);
    }

    [Test]
    public async Task A_lookup_writes_nothing_when_the_link_is_young_and_checks_a_path_once_per_quarter_of_the_grace_period()
    {
        var digest = await V2Blobs.PushAsync(_registry.Client, "lib/app", V1Client.RandomBytes(1000));
        var link = LinkFile("lib/app", digest);
        GcTestKit.Backdate(Root, link, TimeSpan.FromMinutes(2));
        var young = TimeOf(link);

        using (var head = await HeadAsync("lib/app", digest)) ((int)head.StatusCode).Should().Be(200);
        TimeOf(link).Should().Be(young, "2 minutes is younger than a quarter of the 10-minute grace period");

        // Aged right after that check: the next lookups within the quarter do not look again.
        GcTestKit.Backdate(Root, link, Old);
        var old = TimeOf(link);
        for (var i = 0; i < 3; i++)
            using (var head = await HeadAsync("lib/app", digest)) ((int)head.StatusCode).Should().Be(200);
        TimeOf(link).Should().Be(old);

        // A GET is a pull, not an existence check: it renews nothing.
        var other = await V2Blobs.PushAsync(_registry.Client, "lib/app", V1Client.RandomBytes(1000));
        GcTestKit.Backdate(Root, LinkFile("lib/app", other), Old);
        var otherTime = TimeOf(LinkFile("lib/app", other));
        using (var get = await _registry.Client.GetAsync($"/v2/lib/app/blobs/{other}")) ((int)get.StatusCode).Should().Be(200);
        TimeOf(LinkFile("lib/app", other)).Should().Be(otherTime);
    }

    [TestCase("REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED", "true", TestName = "In read-only mode a lookup writes nothing")]
    [TestCase("REGISTRY_GC_GRACE_SECONDS", "0", TestName = "With a grace period of 0 a lookup writes nothing")]
    public async Task A_lookup_writes_nothing(string key, string value)
    {
        var digest = await V2Blobs.PushAsync(_registry.Client, "lib/app", V1Client.RandomBytes(1000));
        var id = V1Client.NewImageId();
        await _registry.Client.PushImageAsync(id, V1Client.RandomBytes(500));
        await RestartAsync((key, value));
        var link = LinkFile("lib/app", digest);
        GcTestKit.Backdate(Root, link, Old);
        GcTestKit.Backdate(Root, $"images/{id}", Old);
        var (linkTime, jsonTime) = (TimeOf(link), TimeOf($"images/{id}/json"));

        using (var head = await HeadAsync("lib/app", digest)) ((int)head.StatusCode).Should().Be(200);
        (await _registry.Client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Status.Should().Be(200);

        TimeOf(link).Should().Be(linkTime);
        TimeOf($"images/{id}/json").Should().Be(jsonTime);
    }

    [Test]
    public async Task A_V1_image_whose_json_was_looked_up_survives_a_collection_that_starts_before_the_tag_arrives()
    {
        var client = _registry.Client;
        var (baseId, childId, missedId) = (V1Client.NewImageId(), V1Client.NewImageId(), V1Client.NewImageId());
        var baseJson = await client.PushImageAsync(baseId, V1Client.RandomBytes(3000));
        var childLayer = V1Client.RandomBytes(2000);
        var childJson = await client.PushImageAsync(childId, childLayer, parent: baseId);
        await client.PushImageAsync(missedId, V1Client.RandomBytes(1000), parent: baseId);
        // Untagged (their tag was deleted long ago) and older than the grace period.
        Age($"images/{baseId}", $"images/{childId}", $"images/{missedId}");

        // docker 1.x asks for each image of the chain it is about to push and skips those the registry has.
        (await client.GetAsync($"/v1/images/{childId}/json").ReadAsync()).Should().Be((200, childJson));
        (await client.GetAsync($"/v1/images/{baseId}/json").ReadAsync()).Should().Be((200, baseJson));
        TimeOf($"images/{childId}/json").Should().BeCloseTo(DateTime.UtcNow, TimeSpan.FromMinutes(1));
        File.ReadAllText(Path.Combine(Root, $"images/{childId}/json")).Should().Be(childJson, "the json is rewritten with its own bytes");

        await RestartAsync();
        var report = await CollectAsync();

        report.Ids(GcItemKind.Image).Should().Equal(missedId);
        (await _registry.Client.PutTagAsync("lib/app", "latest", childId).ReadAsync()).Status.Should().Be(200);
        (await _registry.Client.GetAsync($"/v1/images/{childId}/ancestry").ReadAsync()).Should().Be((200, $"[\"{childId}\", \"{baseId}\"]"));
        using var layer = await _registry.Client.GetAsync($"/v1/images/{childId}/layer");
        (await layer.Content.ReadAsByteArrayAsync()).Should().Equal(childLayer);
        (await _registry.Client.GetAsync($"/v1/images/{missedId}/json").ReadAsync()).Status.Should().Be(404);
    }
}
