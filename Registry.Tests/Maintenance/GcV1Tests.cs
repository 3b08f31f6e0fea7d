using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Core.Maintenance;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Tests.Support;
using Registry.V1.Maintenance;

namespace Registry.Tests.Maintenance;

/// <summary>Garbage collection of the V1 layout through the real app: exact bytes, dry run, grace window, abandoned pushes.</summary>
public class GcV1Tests
{
    private static readonly TimeSpan TwoHours = TimeSpan.FromHours(2);
    private static readonly TimeSpan TwoDays = TimeSpan.FromDays(2);

    private TestRegistry _registry = null!;

    private HttpClient Client => _registry.Client;

    [SetUp]
    public void SetUp() => _registry = TestRegistry.Start(new Dictionary<string, string> { ["REGISTRY_GC_GRACE_SECONDS"] = "0" });

    [TearDown]
    public async Task TearDownAsync() => await _registry.DisposeAsync();

    private GarbageCollector Collector => _registry.Services.GetRequiredService<GarbageCollector>();

    private static string Dir(string id) => StoragePaths.ImageDir(ImageId.TryParse(id, out var i) ? i : throw new ArgumentException(id));

    /// <summary>
    /// base ← a1 ← a2 tagged test/a:latest; base ← c1 tagged test/c:latest; both repositories pushed through the index
    /// (<c>_index_images</c>). Returns the ids.
    /// </summary>
    private async Task<(string Base, string A1, string A2, string C1)> SeedTwoRepositoriesAsync()
    {
        var (b, a1, a2, c1) = (V1Client.NewImageId(), V1Client.NewImageId(), V1Client.NewImageId(), V1Client.NewImageId());
        (await Client.PutIndexAsync("/v1/repositories/test/a/", $"[{{\"id\": \"{b}\"}}, {{\"id\": \"{a1}\"}}, {{\"id\": \"{a2}\"}}]").ReadAsync()).Status.Should().Be(200);
        (await Client.PutIndexAsync("/v1/repositories/test/c/", $"[{{\"id\": \"{b}\"}}, {{\"id\": \"{c1}\"}}]").ReadAsync()).Status.Should().Be(200);
        await Client.PushImageAsync(b, V1Client.RandomBytes(1000));
        await Client.PushImageAsync(a1, V1Client.RandomBytes(2000), b);
        await Client.PushImageAsync(a2, V1Client.RandomBytes(3000), a1);
        await Client.PushImageAsync(c1, V1Client.RandomBytes(4000), b);
        (await Client.PutTagAsync("test/a", "latest", a2).ReadAsync()).Status.Should().Be(200);
        (await Client.PutTagAsync("test/c", "latest", c1).ReadAsync()).Status.Should().Be(200);
        return (b, a1, a2, c1);
    }

    [Test]
    public async Task Deleting_a_tag_then_gc_frees_exactly_the_images_no_other_tag_reaches()
    {
        var (b, a1, a2, c1) = await SeedTwoRepositoriesAsync();
        var root = _registry.StorageRoot;
        var expected = GcTestKit.Bytes(root, Dir(a1)) + GcTestKit.Bytes(root, Dir(a2));
        var list = GcTestKit.Bytes(root, "repositories/test/a/_index_images");
        (await GcTestKit.SearchNamesAsync(Client, "test")).Should().Equal("test/a", "test/c");

        (await Client.DeleteAsync("/v1/repositories/test/a/tags/latest").ReadAsync()).Status.Should().Be(200);
        var before = GcTestKit.Bytes(root, "");
        var report = await Collector.RunAsync();

        report.Ids(GcItemKind.Image).Should().Equal(new[] { a1, a2 }.Order(StringComparer.Ordinal));
        report.BytesOf(GcItemKind.Image).Should().Be(expected);
        report.Ids(GcItemKind.IndexImages).Should().Equal("_index_images");
        report.TotalBytes.Should().Be(expected + list);
        report.Repositories.Should().Equal(new GcRepositoryReport("test/a", Images: 2, IndexLists: 1, Blobs: 0, LayerLinks: 0, Manifests: 0, Uploads: 0, Bytes: expected + list));
        (before - GcTestKit.Bytes(root, "")).Should().Be(report.TotalBytes, "the report counts exactly what left the disk");
        TestContext.Out.WriteLine($"V1: freed {report.TotalBytes} bytes, expected {expected} (images) + {list} (index list)");

        Directory.Exists(Path.Combine(root, Dir(a1))).Should().BeFalse();
        Directory.Exists(Path.Combine(root, Dir(a2))).Should().BeFalse();
        foreach (var kept in new[] { b, c1 })
            (await Client.GetAsync($"/v1/images/{kept}/json").ReadAsync()).Status.Should().Be(200);
        (await Client.GetAsync($"/v1/images/{c1}/ancestry").ReadAsync()).Body.Should().Be($"[\"{c1}\", \"{b}\"]");
        (await GcTestKit.SearchNamesAsync(Client, "test")).Should().Equal("test/c");

        var again = await Collector.RunAsync();
        again.TotalItems.Should().Be(0, "a second run finds nothing left");
    }

    [Test]
    public async Task Dry_run_changes_nothing_and_lists_what_the_real_run_then_deletes()
    {
        await SeedTwoRepositoriesAsync();
        (await Client.DeleteAsync("/v1/repositories/test/a/tags/latest").ReadAsync()).Status.Should().Be(200);
        var before = GcTestKit.Snapshot(_registry.StorageRoot);

        var dry = await Collector.RunAsync(dryRun: true);

        GcTestKit.Snapshot(_registry.StorageRoot).Should().Equal(before);
        (await GcTestKit.SearchNamesAsync(Client, "test")).Should().Equal("test/a", "test/c");
        dry.DryRun.Should().BeTrue();
        dry.ToText().Should().Contain("test/a: would delete 2 images, 1 index list (").And.Contain("would free ");
        var real = await Collector.RunAsync();
        real.Items.Should().Equal(dry.Items);
        real.ToText().Should().Contain("test/a: deleted 2 images, 1 index list (").And.Contain($"freed {real.TotalBytes} bytes");
    }

    [Test]
    public async Task Grace_window_keeps_young_garbage_and_what_it_builds_on()
    {
        var collector = GcTestKit.Collector(_registry, new GcSettings { Grace = TimeSpan.FromHours(1) });
        var (old, oldParent, young) = (V1Client.NewImageId(), V1Client.NewImageId(), V1Client.NewImageId());
        await Client.PushImageAsync(old, V1Client.RandomBytes(100));
        await Client.PushImageAsync(oldParent, V1Client.RandomBytes(100));
        await Client.PushImageAsync(young, V1Client.RandomBytes(100), oldParent);
        GcTestKit.Backdate(_registry.StorageRoot, Dir(old), TwoHours);
        GcTestKit.Backdate(_registry.StorageRoot, Dir(oldParent), TwoHours);

        var report = await collector.RunAsync();

        report.Ids(GcItemKind.Image).Should().Equal(old);
        report.Kept.Should().Be(1, "the young image; its old parent is kept as its ancestry, not counted again");
        Directory.Exists(Path.Combine(_registry.StorageRoot, Dir(young))).Should().BeTrue();
        Directory.Exists(Path.Combine(_registry.StorageRoot, Dir(oldParent))).Should().BeTrue();
    }

    [Test]
    public async Task Unfinished_pushes_go_only_past_the_upload_age()
    {
        var collector = GcTestKit.Collector(_registry, new GcSettings { Grace = TimeSpan.FromHours(1), UploadMaxAge = TimeSpan.FromDays(1) });
        var (recent, abandoned) = (V1Client.NewImageId(), V1Client.NewImageId());
        foreach (var id in new[] { recent, abandoned })
            (await Client.PutJsonAsync(id, V1Client.ImageJson(id)).ReadAsync()).Status.Should().Be(200);
        GcTestKit.Backdate(_registry.StorageRoot, Dir(recent), TwoHours);
        GcTestKit.Backdate(_registry.StorageRoot, Dir(abandoned), TwoDays);

        var report = await collector.RunAsync();

        report.Ids(GcItemKind.Image).Should().Equal(abandoned);
        report.Kept.Should().Be(1);
        (await Client.PutLayerAsync(recent, [1, 2, 3]).ReadAsync()).Status.Should().Be(200, "the push two hours in can go on");
    }

    [Test]
    public async Task Repository_being_pushed_keeps_the_images_of_its_young_index_list()
    {
        var collector = GcTestKit.Collector(_registry, new GcSettings { Grace = TimeSpan.FromHours(1) });
        var (reused, other) = (V1Client.NewImageId(), V1Client.NewImageId());
        await Client.PushImageAsync(reused, V1Client.RandomBytes(100));
        await Client.PushImageAsync(other, V1Client.RandomBytes(100));
        GcTestKit.Backdate(_registry.StorageRoot, Dir(reused), TwoHours);
        GcTestKit.Backdate(_registry.StorageRoot, Dir(other), TwoHours);
        // A new push names an old untagged image it will reuse (docker skips uploading what exists).
        (await Client.PutIndexAsync("/v1/repositories/test/new/", $"[{{\"id\": \"{reused}\"}}]").ReadAsync()).Status.Should().Be(200);

        var report = await collector.RunAsync();

        report.Ids(GcItemKind.Image).Should().Equal(other);
        report.Ids(GcItemKind.IndexImages).Should().BeEmpty();
        (await Client.PutTagAsync("test/new", "latest", reused).ReadAsync()).Status.Should().Be(200);
    }

    [Test]
    public async Task Image_without_ancestry_file_keeps_its_parents_through_the_json_chain()
    {
        var (parent, child) = (V1Client.NewImageId(), V1Client.NewImageId());
        await Client.PushImageAsync(parent, V1Client.RandomBytes(100));
        await Client.PushImageAsync(child, V1Client.RandomBytes(100), parent);
        (await Client.PutTagAsync("test/old", "latest", child).ReadAsync()).Status.Should().Be(200);
        File.Delete(Path.Combine(_registry.StorageRoot, Dir(child), "ancestry"));

        var report = await Collector.RunAsync();

        report.Ids(GcItemKind.Image).Should().BeEmpty();
        report.MarkedImages.Should().Be(2);
    }

    [Test]
    public async Task A_second_run_while_one_holds_the_storage_lease_is_refused()
    {
        var other = new GcStorageLeaseHolder(_registry.Storage);
        await other.TakeAsync(TimeSpan.FromMinutes(10));

        var refused = await Collector.RunAsync(new GcOptions(), CancellationToken.None);
        refused.Status.Should().Be(GcRunStatus.AlreadyRunning);
        refused.Holder.Should().StartWith("someone-else ");
        (await Collector.RunAsync(new GcOptions(DryRun: true), CancellationToken.None)).Status.Should().Be(GcRunStatus.Completed, "a dry run deletes nothing and takes no lease");

        await other.TakeAsync(TimeSpan.FromSeconds(-1));
        (await Collector.RunAsync(new GcOptions(), CancellationToken.None)).Status.Should().Be(GcRunStatus.Completed, "an expired lease belongs to a dead run");
        (await _registry.Storage.ExistsAsync(GcStorageLock.Path, CancellationToken.None)).Should().BeFalse("the run removes its lease");
    }

    /// <summary>Writes a lease as another process would.</summary>
    private sealed class GcStorageLeaseHolder(IStorageDriver storage)
    {
        public Task TakeAsync(TimeSpan lease)
        {
            var now = DateTimeOffset.UtcNow;
            var json = $"{{\"owner\":\"someone-else\",\"renewed_at\":\"{now:O}\",\"expires_at\":\"{now + lease:O}\"}}";
            return storage.PutContentAsync(GcStorageLock.Path, System.Text.Encoding.UTF8.GetBytes(json), CancellationToken.None);
        }
    }
}
