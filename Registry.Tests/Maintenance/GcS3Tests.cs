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
/// Garbage collection on the S3 driver against a real S3 (Ceph RGW), both layouts pushed through HTTP: the dry run
/// leaves every object as it was, the real run deletes exactly the objects of what no tag reaches, the freed bytes
/// are the sizes of those objects, and shared content stays pullable.
/// </summary>
[TestFixture]
[Category("s3")]
public sealed class GcS3Tests
{
    private CephRgw _rgw = null!;
    private string _bucket = null!;

    [OneTimeSetUp]
    public async Task StartGatewayAsync()
    {
        _rgw = await CephRgw.SharedAsync();
        _bucket = await _rgw.CreateBucketAsync("registry-gc");
    }

    [Test]
    public async Task Dry_run_changes_nothing_and_the_real_run_frees_exactly_the_unreachable_objects()
    {
        var prefix = "gc-" + Guid.NewGuid().ToString("N")[..8];
        await using var registry = TestRegistry.Start(_rgw.RegistryEnvironment(
            "s3", _bucket, "/" + prefix, ("REGISTRY_STORAGE_DELETE_ENABLED", "true"), ("REGISTRY_GC_GRACE_SECONDS", "0")));
        var client = registry.Client;

        // V1: a shared base image, one child tagged in keep/app, one child tagged in drop/app; then the drop tag goes.
        var (baseId, keepId, dropId) = (V1Client.NewImageId(), V1Client.NewImageId(), V1Client.NewImageId());
        await client.PushImageAsync(baseId, V1Client.RandomBytes(3000));
        await client.PushImageAsync(keepId, V1Client.RandomBytes(2000), parent: baseId);
        await client.PushImageAsync(dropId, V1Client.RandomBytes(4000), parent: baseId);
        (await client.PutTagAsync("keep/app", "latest", keepId)).EnsureSuccessStatusCode();
        (await client.PutTagAsync("drop/app", "latest", dropId)).EnsureSuccessStatusCode();
        (await client.DeleteAsync("/v1/repositories/drop/app/tags/latest")).EnsureSuccessStatusCode();

        // v2: two images over a shared layer; one manifest is deleted.
        var shared = await V2Blobs.PushAsync(client, "lib/a", V1Client.RandomBytes(5000));
        var mountShared = await client.PostAsync($"/v2/lib/b/blobs/uploads/?mount={shared}&from=lib/a", new ByteArrayContent([]));
        ((int)mountShared.StatusCode).Should().Be(201);
        var (configA, layerA) = (await V2Blobs.PushAsync(client, "lib/a", Encoding.UTF8.GetBytes("{\"a\":1}")), await V2Blobs.PushAsync(client, "lib/a", V1Client.RandomBytes(3000)));
        var (configB, layerB) = (await V2Blobs.PushAsync(client, "lib/b", Encoding.UTF8.GetBytes("{\"b\":2}")), await V2Blobs.PushAsync(client, "lib/b", V1Client.RandomBytes(4000)));
        var manifestA = await PutManifestAsync(client, "lib/a", configA, shared, layerA);
        await PutManifestAsync(client, "lib/b", configB, shared, layerB);
        ((int)(await client.DeleteAsync($"/v2/lib/a/manifests/{manifestA}")).StatusCode).Should().Be(202);
        // Tagged repositories at the top level and nested in another: the scan finds them in its read of their first-level directory.
        foreach (var name in new[] { "solo", "lib/b/nested" })
            await PutManifestAsync(client, name, await V2Blobs.PushAsync(client, name, Encoding.UTF8.GetBytes($"{{\"n\":\"{name}\"}}")), await V2Blobs.PushAsync(client, name, V1Client.RandomBytes(1000)));

        // S3 times objects to the second and a real run's T0 is the storage's time of its lease, where a dry run reads
        // this host's clock: within the second of the last write the real run would still find the deleted manifest
        // young and keep it. Past that second both see the same garbage.
        await Task.Delay(TimeSpan.FromMilliseconds(1100));
        var before = await _rgw.ObjectsAsync(_bucket, prefix + "/");
        var collector = registry.Services.GetRequiredService<GarbageCollector>();

        var dry = await collector.RunAsync(dryRun: true);
        (await _rgw.ObjectsAsync(_bucket, prefix + "/")).Should().Equal(before, "a dry run changes nothing");

        var report = await collector.RunAsync();
        var after = await _rgw.ObjectsAsync(_bucket, prefix + "/");
        var gone = before.Keys.Except(after.Keys).ToList();
        var goneBytes = gone.Sum(k => before[k]);
        TestContext.Out.WriteLine($"s3: freed {report.TotalBytes} bytes, {gone.Count} objects of {goneBytes} bytes went; dry run said {dry.TotalBytes}");

        report.TotalBytes.Should().Be(goneBytes);
        dry.TotalBytes.Should().Be(report.TotalBytes);
        report.Ids(GcItemKind.Image).Should().Equal(dropId);
        gone.Where(k => k.StartsWith("images/", StringComparison.Ordinal)).Should().OnlyContain(k => k.StartsWith($"images/{dropId}/", StringComparison.Ordinal));
        var expectedBlobs = new[] { manifestA, configA, layerA }.Select(d => $"docker/registry/v2/blobs/sha256/{d[7..9]}/{d[7..]}/data");
        gone.Where(k => k.StartsWith("docker/registry/v2/blobs/", StringComparison.Ordinal)).Should().BeEquivalentTo(expectedBlobs);

        // What stays reachable still reads back.
        ((int)(await client.GetAsync($"/v1/images/{baseId}/layer")).StatusCode).Should().Be(200);
        ((int)(await client.GetAsync($"/v1/images/{keepId}/layer")).StatusCode).Should().Be(200);
        ((int)(await client.GetAsync($"/v2/lib/b/blobs/{shared}")).StatusCode).Should().Be(200);
        ((int)(await client.GetAsync($"/v2/lib/b/manifests/latest")).StatusCode).Should().Be(200);
        (await collector.RunAsync()).TotalItems.Should().Be(0);
    }

    /// <summary>docs/garbage-collection.md, 'Guarantees' G8 on S3: the lookup renews the link object (a PutObject), and the collection keeps it.</summary>
    [Test]
    public async Task A_layer_that_HEAD_found_survives_a_collection_that_starts_before_its_manifest_arrives()
    {
        var prefix = "gc-" + Guid.NewGuid().ToString("N")[..8];
        await using var registry = TestRegistry.Start(_rgw.RegistryEnvironment("s3", _bucket, "/" + prefix, ("REGISTRY_GC_GRACE_SECONDS", "4")));
        var client = registry.Client;
        var found = await V2Blobs.PushAsync(client, "lib/app", V1Client.RandomBytes(3000));
        var missed = await V2Blobs.PushAsync(client, "lib/app", V1Client.RandomBytes(2000));
        // Older than the 4-second grace period by over a second (S3 times objects to the second).
        await Task.Delay(TimeSpan.FromMilliseconds(5200));

        using (var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/lib/app/blobs/{found}")))
        {
            ((int)head.StatusCode).Should().Be(200);
            head.Header("Docker-Content-Digest").Should().Be(found);
        }
        var report = await registry.Services.GetRequiredService<GarbageCollector>().RunAsync();

        report.Ids(GcItemKind.Blob).Should().Equal(missed);
        report.Ids(GcItemKind.LayerLink).Should().Equal(missed);
        await PutManifestAsync(client, "lib/app", await V2Blobs.PushAsync(client, "lib/app", Encoding.UTF8.GetBytes("{\"app\":1}")), found);
        ((int)(await client.GetAsync($"/v2/lib/app/blobs/{found}")).StatusCode).Should().Be(200);
    }

    [Test]
    public async Task Garbage_images_of_several_depths_go_and_the_kept_images_between_them_stay()
    {
        var prefix = "gc-" + Guid.NewGuid().ToString("N")[..8];
        await using var registry = TestRegistry.Start(_rgw.RegistryEnvironment("s3", _bucket, "/" + prefix, ("REGISTRY_GC_GRACE_SECONDS", "0")));
        var client = registry.Client;
        // More garbage at depth 1 than one ranged re-read covers (16 ids), a chain of three above it, and tagged images
        // whose ids fall between theirs: the ranged listings of the sweep's re-read list the kept ones too.
        var garbage = new List<string>();
        for (var i = 0; i < 23; i++)
        {
            // The last three are a chain: depths 1, 2 and 3.
            garbage.Add(V1Client.NewImageId());
            await client.PushImageAsync(garbage[^1], V1Client.RandomBytes(100 + i), i > 20 ? garbage[^2] : null);
        }
        var kept = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            kept.Add(V1Client.NewImageId());
            await client.PushImageAsync(kept[^1], V1Client.RandomBytes(300 + i));
            (await client.PutTagAsync("keep/app", $"t{i}", kept[^1])).EnsureSuccessStatusCode();
        }
        await Task.Delay(TimeSpan.FromMilliseconds(1100));
        var before = await _rgw.ObjectsAsync(_bucket, prefix + "/");
        var collector = registry.Services.GetRequiredService<GarbageCollector>();

        var report = await collector.RunAsync();

        var after = await _rgw.ObjectsAsync(_bucket, prefix + "/");
        report.Ids(GcItemKind.Image).Should().Equal(garbage.Order(StringComparer.Ordinal));
        var gone = before.Keys.Except(after.Keys).ToList();
        gone.Should().OnlyContain(k => garbage.Any(id => k.StartsWith($"images/{id}/", StringComparison.Ordinal)));
        gone.Select(k => k.Split('/')[1]).Distinct().Should().BeEquivalentTo(garbage);
        report.TotalBytes.Should().Be(gone.Sum(k => before[k]));
        after.Keys.Where(k => k.StartsWith("images/", StringComparison.Ordinal)).Select(k => k.Split('/')[1]).Distinct().Should().BeEquivalentTo(kept);
        foreach (var id in kept) ((int)(await client.GetAsync($"/v1/images/{id}/layer")).StatusCode).Should().Be(200);
        (await collector.RunAsync()).TotalItems.Should().Be(0);
    }

    private static async Task<string> PutManifestAsync(HttpClient client, string name, params string[] digests)
    {
        var (config, layers) = (digests[0], digests[1..]);
        var layerJson = string.Join(",", layers.Select(d => $"{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{d}\",\"size\":1}}"));
        var body = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{config}\",\"size\":1}},\"layers\":[{layerJson}]}}");
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/vnd.oci.image.manifest.v1+json");
        using var response = await client.PutAsync($"/v2/{name}/manifests/latest", content);
        ((int)response.StatusCode).Should().Be(201, await response.Content.ReadAsStringAsync());
        return Digest.Compute("sha256", body).ToString();
    }
}
