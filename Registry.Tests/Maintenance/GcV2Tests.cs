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
/// Garbage collection of the distribution layout, seeded directly through the storage driver (data first, links
/// last, as the v2 routes write it): exact bytes, shared layers, delete-untagged with index children and referrers,
/// young links, upload sessions, dry run.
/// </summary>
public class GcV2Tests
{
    private TestRegistry _registry = null!;
    private V2Seeder _seed = null!;

    [SetUp]
    public void SetUp()
    {
        _registry = TestRegistry.Start(new Dictionary<string, string> { ["REGISTRY_GC_GRACE_SECONDS"] = "0", ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true" });
        _seed = new V2Seeder(_registry.Storage);
    }

    [TearDown]
    public async Task TearDownAsync() => await _registry.DisposeAsync();

    private GarbageCollector Collector => _registry.Services.GetRequiredService<GarbageCollector>();

    private string Root => _registry.StorageRoot;

    private bool Exists(string storagePath) => File.Exists(Path.Combine(Root, storagePath)) || Directory.Exists(Path.Combine(Root, storagePath));

    private static string LinkDir(string repository, Digest d) => DistributionPaths.LayerLink(repository, d)[..^"/link".Length];

    /// <summary>lib/a and lib/b, each one tagged image over a shared base layer, a config and a layer of its own.</summary>
    private async Task<(Digest Base, Digest ConfigA, Digest LayerA, Digest ManifestA, Digest ManifestB)> SeedTwoImagesAsync()
    {
        var shared = await _seed.BlobAsync(V1Client.RandomBytes(5000));
        var (configA, layerA) = (await _seed.BlobAsync("{\"config\":\"a\"}"), await _seed.BlobAsync(V1Client.RandomBytes(3000)));
        var (configB, layerB) = (await _seed.BlobAsync("{\"config\":\"b\"}"), await _seed.BlobAsync(V1Client.RandomBytes(4000)));
        var manifestA = await _seed.ImageAsync("lib/a", "latest", configA, shared, layerA);
        var manifestB = await _seed.ImageAsync("lib/b", "latest", configB, shared, layerB);
        return (shared, configA, layerA, manifestA, manifestB);
    }

    [Test]
    public async Task Deleting_a_manifest_then_gc_frees_exactly_its_own_blobs_and_links_and_keeps_the_shared_layer()
    {
        var (shared, configA, layerA, manifestA, manifestB) = await SeedTwoImagesAsync();
        // What manifest DELETE and tag DELETE leave (docs/storage-layout.md, 'Write order'): no revision link, no tag.
        File.Delete(Path.Combine(Root, DistributionPaths.RevisionLink("lib/a", manifestA)));
        Directory.Delete(Path.Combine(Root, DistributionPaths.TagDir("lib/a", "latest")), recursive: true);
        var blobs = new[] { manifestA, configA, layerA }.Sum(d => GcTestKit.Bytes(Root, DistributionPaths.BlobDir(d)));
        var manifestBytes = GcTestKit.Bytes(Root, DistributionPaths.BlobDir(manifestA));
        var links = new[] { configA, layerA }.Sum(d => GcTestKit.Bytes(Root, LinkDir("lib/a", d)));
        var before = GcTestKit.Bytes(Root, "");

        var report = await Collector.RunAsync();

        report.Ids(GcItemKind.Blob).Should().Equal(new[] { manifestA, configA, layerA }.Select(d => d.ToString()).Order(StringComparer.Ordinal));
        report.BytesOf(GcItemKind.Blob).Should().Be(blobs);
        report.Ids(GcItemKind.LayerLink).Should().Equal(new[] { configA, layerA }.Select(d => d.ToString()).Order(StringComparer.Ordinal));
        report.TotalBytes.Should().Be(blobs + links);
        (before - GcTestKit.Bytes(Root, "")).Should().Be(report.TotalBytes);
        // The manifest's own revision link is already gone, so no repository names its blob any more.
        report.Repositories.Should().Equal(
            new GcRepositoryReport("", Images: 0, IndexLists: 0, Blobs: 1, LayerLinks: 0, Manifests: 0, Uploads: 0, Bytes: manifestBytes),
            new GcRepositoryReport("lib/a", Images: 0, IndexLists: 0, Blobs: 2, LayerLinks: 2, Manifests: 0, Uploads: 0, Bytes: blobs + links - manifestBytes));
        TestContext.Out.WriteLine($"v2: freed {report.TotalBytes} bytes, expected {blobs} (blobs) + {links} (links)");

        Exists(DistributionPaths.BlobData(shared)).Should().BeTrue();
        Exists(LinkDir("lib/a", shared)).Should().BeTrue("the shared layer is marked, so its link in lib/a stays (v3 unlinks unmarked only)");
        Exists(DistributionPaths.BlobData(manifestB)).Should().BeTrue();
        (await Collector.RunAsync()).TotalItems.Should().Be(0);
    }

    [Test]
    public async Task Over_http_deleting_a_manifest_then_gc_frees_exactly_its_blobs_and_the_shared_layer_stays()
    {
        var client = _registry.Client;
        var shared = V1Client.RandomBytes(5000);
        async Task<(Digest Manifest, Digest[] Own)> PushAsync(string repository, string label)
        {
            var config = System.Text.Encoding.UTF8.GetBytes($"{{\"label\":\"{label}\"}}");
            var own = V1Client.RandomBytes(3000);
            var blobs = new[] { config, shared, own };
            foreach (var blob in blobs)
                (await client.PostAsync($"/v2/{repository}/blobs/uploads/?digest={Digest.Compute("sha256", blob)}", new ByteArrayContent(blob))).StatusCode
                    .Should().Be(System.Net.HttpStatusCode.Created);
            var digests = blobs.Select(b => Digest.Compute("sha256", b)).ToArray();
            var manifest = V2Seeder.ManifestJson(ManifestDocument.OciManifest, digests[0], digests.Skip(1), null);
            var body = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(manifest));
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(ManifestDocument.OciManifest);
            (await client.PutAsync($"/v2/{repository}/manifests/latest", body)).StatusCode.Should().Be(System.Net.HttpStatusCode.Created);
            return (Digest.Compute("sha256", System.Text.Encoding.UTF8.GetBytes(manifest)), [digests[0], digests[2]]);
        }
        var (manifestA, ownA) = await PushAsync("web/a", "a");
        await PushAsync("web/b", "b");
        (await client.DeleteAsync($"/v2/web/a/manifests/{manifestA}")).StatusCode.Should().Be(System.Net.HttpStatusCode.Accepted);
        var blobs = ownA.Append(manifestA).Sum(d => GcTestKit.Bytes(Root, DistributionPaths.BlobDir(d)));
        var links = ownA.Sum(d => GcTestKit.Bytes(Root, LinkDir("web/a", d)));
        var before = GcTestKit.Bytes(Root, "");

        var report = await Collector.RunAsync();

        report.Ids(GcItemKind.Blob).Should().Equal(ownA.Append(manifestA).Select(d => d.ToString()).Order(StringComparer.Ordinal));
        report.BytesOf(GcItemKind.Blob).Should().Be(blobs);
        report.TotalBytes.Should().Be(blobs + links);
        (before - GcTestKit.Bytes(Root, "")).Should().Be(report.TotalBytes);
        TestContext.Out.WriteLine($"v2 over HTTP: freed {report.TotalBytes} bytes, expected {blobs} (blobs) + {links} (links)");
        (await client.GetByteArrayAsync($"/v2/web/b/blobs/{Digest.Compute("sha256", shared)}")).Should().Equal(shared);
        (await client.GetAsync($"/v2/web/a/blobs/{Digest.Compute("sha256", shared)}")).StatusCode.Should().Be(System.Net.HttpStatusCode.OK,
            "the shared layer is marked through web/b, so web/a's link to it stays");
        (await GcTestKit.SearchNamesAsync(client, "web")).Should().Equal("web/b");
    }

    [Test]
    public async Task Untagged_revision_stays_without_delete_untagged_and_goes_with_it()
    {
        var (_, configA, layerA, manifestA, _) = await SeedTwoImagesAsync();
        Directory.Delete(Path.Combine(Root, DistributionPaths.TagDir("lib/a", "latest")), recursive: true);

        (await Collector.RunAsync()).TotalItems.Should().Be(0, "every revision is a root by default");
        var report = await Collector.RunAsync(deleteUntagged: true);

        report.Ids(GcItemKind.Manifest).Should().Equal(manifestA.ToString());
        report.Ids(GcItemKind.Blob).Should().Equal(new[] { manifestA, configA, layerA }.Select(d => d.ToString()).Order(StringComparer.Ordinal));
        Exists(DistributionPaths.RevisionLink("lib/a", manifestA)).Should().BeFalse();
    }

    [Test]
    public async Task Delete_untagged_keeps_children_of_a_tagged_index_referrers_of_kept_manifests_and_young_revisions()
    {
        var layer = await _seed.BlobAsync(V1Client.RandomBytes(100));
        var amd64 = await _seed.ImageAsync("lib/multi", null, await _seed.BlobAsync("{\"arch\":\"amd64\"}"), layer);
        var arm64 = await _seed.ImageAsync("lib/multi", null, await _seed.BlobAsync("{\"arch\":\"arm64\"}"), layer);
        var index = await _seed.ManifestAsync("lib/multi", "latest", V2Seeder.ManifestJson(ManifestDocument.OciIndex, null, [amd64, arm64], null));
        var signatureConfig = await _seed.BlobAsync("{\"sig\":1}");
        await _seed.LinkAsync("lib/multi", signatureConfig);
        var signature = await _seed.ManifestAsync("lib/multi", null, V2Seeder.ManifestJson(ManifestDocument.OciManifest, signatureConfig, [], index));
        var orphanConfig = await _seed.BlobAsync("{\"orphan\":1}");
        var orphan = await _seed.ImageAsync("lib/multi", null, orphanConfig);

        var collector = GcTestKit.Collector(_registry, new GcSettings { Grace = TimeSpan.FromHours(1) });
        GcTestKit.Backdate(Root, "docker", TimeSpan.FromHours(2));
        var young = await _seed.ImageAsync("lib/multi", null, await _seed.BlobAsync("{\"young\":1}"));

        var report = await collector.RunAsync(deleteUntagged: true);

        report.Ids(GcItemKind.Manifest).Should().Equal(orphan.ToString());
        report.Ids(GcItemKind.Blob).Should().Equal(new[] { orphan, orphanConfig }.Select(d => d.ToString()).Order(StringComparer.Ordinal));
        foreach (var kept in new[] { amd64, arm64, index, signature, young })
            Exists(DistributionPaths.RevisionLink("lib/multi", kept)).Should().BeTrue(kept.ToString());
        Exists(DistributionPaths.BlobData(signatureConfig)).Should().BeTrue();
    }

    [Test]
    public async Task Young_layer_link_keeps_its_blob_and_an_old_orphan_link_and_blob_go()
    {
        var collector = GcTestKit.Collector(_registry, new GcSettings { Grace = TimeSpan.FromHours(1) });
        var orphan = await _seed.BlobAsync(V1Client.RandomBytes(700));
        await _seed.LinkAsync("lib/push", orphan);
        var pending = await _seed.BlobAsync(V1Client.RandomBytes(900));
        var unlinked = await _seed.BlobAsync(V1Client.RandomBytes(300));
        GcTestKit.Backdate(Root, "docker", TimeSpan.FromHours(2));
        // A push under way links an old blob (docker's HEAD said it exists); its manifest is not there yet.
        await _seed.LinkAsync("lib/push", pending);

        var report = await collector.RunAsync();

        report.Ids(GcItemKind.Blob).Should().Equal(new[] { orphan, unlinked }.Select(d => d.ToString()).Order(StringComparer.Ordinal));
        report.Ids(GcItemKind.LayerLink).Should().Equal(orphan.ToString());
        report.Items.Single(i => i.Id == orphan.ToString() && i.Kind == GcItemKind.Blob).Repository.Should().Be("lib/push");
        report.Items.Single(i => i.Id == unlinked.ToString()).Repository.Should().Be("");
        Exists(DistributionPaths.BlobData(pending)).Should().BeTrue();
        report.Kept.Should().Be(1);
    }

    [Test]
    public async Task Upload_sessions_go_only_past_the_upload_age_and_only_when_idle()
    {
        var collector = GcTestKit.Collector(_registry, new GcSettings { Grace = TimeSpan.FromHours(1), UploadMaxAge = TimeSpan.FromDays(1) });
        var now = DateTimeOffset.UtcNow;
        await _seed.UploadAsync("lib/up", "recent", now.AddHours(-2), [1, 2, 3]);
        await _seed.UploadAsync("lib/up", "abandoned", now.AddDays(-2), [4, 5, 6, 7]);
        await _seed.UploadAsync("lib/up", "slow", now.AddDays(-2), [8]);
        GcTestKit.Backdate(Root, DistributionPaths.UploadDir("lib/up", "recent"), TimeSpan.FromHours(2));
        GcTestKit.Backdate(Root, DistributionPaths.UploadDir("lib/up", "abandoned"), TimeSpan.FromDays(2));
        // "slow" started two days ago but received a chunk just now.

        var report = await collector.RunAsync();

        report.Ids(GcItemKind.Upload).Should().Equal("abandoned");
        report.BytesOf(GcItemKind.Upload).Should().Be(4 + 20, "data and the startedat timestamp");
        Exists(DistributionPaths.UploadDir("lib/up", "recent")).Should().BeTrue();
        Exists(DistributionPaths.UploadDir("lib/up", "slow")).Should().BeTrue();
    }

    [Test]
    public async Task Dry_run_changes_nothing_in_the_distribution_layout()
    {
        var (_, _, _, manifestA, _) = await SeedTwoImagesAsync();
        File.Delete(Path.Combine(Root, DistributionPaths.RevisionLink("lib/a", manifestA)));
        Directory.Delete(Path.Combine(Root, DistributionPaths.TagDir("lib/a", "latest")), recursive: true);
        await _seed.UploadAsync("lib/a", "old", DateTimeOffset.UtcNow.AddDays(-3), [1]);
        GcTestKit.Backdate(Root, DistributionPaths.UploadDir("lib/a", "old"), TimeSpan.FromDays(3));
        var before = GcTestKit.Snapshot(Root);

        var dry = await Collector.RunAsync(dryRun: true, deleteUntagged: true);

        GcTestKit.Snapshot(Root).Should().Equal(before);
        dry.TotalItems.Should().Be(6, "3 blobs, 2 layer links, 1 upload");
        (await Collector.RunAsync(deleteUntagged: true)).Items.Should().Equal(dry.Items);
    }

    [Test]
    public async Task Search_forgets_a_v2_repository_only_when_it_has_no_tag()
    {
        await SeedTwoImagesAsync();
        await _registry.Services.GetRequiredService<Registry.Index.Search.RepositoryCatalog>().RebuildAsync(CancellationToken.None);
        (await GcTestKit.SearchNamesAsync(_registry.Client, "lib")).Should().Equal("lib/a", "lib/b");
        Directory.Delete(Path.Combine(Root, DistributionPaths.TagDir("lib/a", "latest")), recursive: true);

        var report = await Collector.RunAsync(deleteUntagged: true);

        report.Ids(GcItemKind.Manifest).Should().HaveCount(1);
        (await GcTestKit.SearchNamesAsync(_registry.Client, "lib")).Should().Equal("lib/b");
    }
}
