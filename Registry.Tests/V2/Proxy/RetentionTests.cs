using System.Globalization;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Core.Maintenance;
using Registry.Tests.Support;
using Registry.V1.Maintenance;

namespace Registry.Tests.V2.Proxy;

/// <summary>
/// <c>proxy.retention</c> (docs/garbage-collection.md, 'Mirror retention'): garbage collection expires cached
/// repositories not pulled within the retention and keeps pushed and recently pulled ones. The mirror is the real app
/// over Debian's Go registry 2.8; time is moved by writing an old last-pull record, not by waiting.
/// </summary>
public class RetentionTests : GoUpstreamFixture
{
    [Test]
    public async Task Gc_expires_a_cached_repository_not_pulled_within_the_retention_and_keeps_pushed_and_recent_ones()
    {
        var old = await GoRegistry.PushImageAsync(UpstreamClient, "ret/old", "v1", V1Client.RandomBytes(40_000));
        var recent = await GoRegistry.PushImageAsync(UpstreamClient, "ret/recent", "v1", V1Client.RandomBytes(40_000));
        await using var mirror = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_PROXY_REMOTEURL"] = Upstream.Url,
            ["REGISTRY_PROXY_RETENTION"] = "168h",
            ["REGISTRY_GC_GRACE_SECONDS"] = "0",
        });
        var pushed = await V2Seed.PushImageAsync(mirror, "ret/pushed", "v1");
        var started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await PullAsync(mirror, "ret/old", old);
        await PullAsync(mirror, "ret/recent", recent);

        // The pull wrote the record; the pushed repository has none.
        var lastPull = long.Parse(Encoding.ASCII.GetString((await mirror.Storage.GetContentAsync(DistributionPaths.ProxyLastPull("ret/old"), CancellationToken.None))!),
            CultureInfo.InvariantCulture);
        lastPull.Should().BeInRange(started, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        (await mirror.Storage.ExistsAsync(DistributionPaths.ProxyLastPull("ret/pushed"), CancellationToken.None)).Should().BeFalse();
        (await mirror.Client.GetStringAsync("/v2/_catalog")).Should().Be("{\"repositories\":[\"ret/old\",\"ret/pushed\",\"ret/recent\"]}");

        // Time moves: ret/old was last pulled 169 hours ago.
        await mirror.Storage.PutContentAsync(DistributionPaths.ProxyLastPull("ret/old"),
            Encoding.ASCII.GetBytes((DateTimeOffset.UtcNow - TimeSpan.FromHours(169)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)), CancellationToken.None);

        var collector = mirror.Services.GetRequiredService<GarbageCollector>();
        var dry = await collector.RunAsync(dryRun: true);
        var report = await collector.RunAsync();
        report.Items.Should().Equal(dry.Items);
        report.Ids(GcItemKind.CachedRepository).Should().Equal("ret/old");
        report.Ids(GcItemKind.Blob).Should().Equal(new[] { old.Manifest.Digest, old.Config.Digest, old.Layers[0].Digest }.Select(d => d.ToString()).Order(StringComparer.Ordinal));
        report.Items.Should().OnlyContain(i => i.Repository == "ret/old");
        report.Repositories.Should().ContainSingle().Which.CachedRepositories.Should().Be(1);
        report.ToText().Should().StartWith($"ret/old: deleted the expired cached repository, 3 blobs ({report.TotalBytes} bytes)\n");

        (await mirror.Client.GetStringAsync("/v2/_catalog")).Should().Be("{\"repositories\":[\"ret/pushed\",\"ret/recent\"]}");
        foreach (var blob in new[] { old.Manifest.Digest, old.Config.Digest, old.Layers[0].Digest })
            (await mirror.Storage.ExistsAsync(DistributionPaths.BlobData(blob), CancellationToken.None)).Should().BeFalse();
        (await mirror.Storage.DirectoryExistsAsync(DistributionPaths.ProxyDir("ret/old"), CancellationToken.None)).Should().BeFalse();
        (await mirror.Storage.ExistsAsync(DistributionPaths.BlobData(recent.Layers[0].Digest), CancellationToken.None)).Should().BeTrue();

        // The pushed and the recently pulled repositories are served from storage, without the upstream.
        await WaitForAccessLogAsync($"/v2/ret/recent/blobs/{recent.Layers[0].Digest}");
        var before = Upstream.Requests.Count;
        using (var local = await mirror.Client.GetAsync("/v2/ret/pushed/manifests/v1"))
            (await local.Content.ReadAsByteArrayAsync()).Should().Equal(pushed.Bytes);
        await PullAsync(mirror, "ret/recent", recent);
        Upstream.Requests.Count.Should().Be(before);

        // Pulled again after expiry: a miss, fetched from the upstream again.
        await PullAsync(mirror, "ret/old", old);
        await WaitForAccessLogAsync($"/v2/ret/old/blobs/{old.Layers[0].Digest}", 2);
        Upstream.Count("GET", "/v2/ret/old/manifests/v1").Should().Be(2);
        Upstream.Count("GET", $"/v2/ret/old/blobs/{old.Layers[0].Digest}").Should().Be(2);
        (await mirror.Client.GetStringAsync("/v2/_catalog")).Should().Be("{\"repositories\":[\"ret/old\",\"ret/pushed\",\"ret/recent\"]}");
        (await mirror.Storage.ExistsAsync(DistributionPaths.ProxyLastPull("ret/old"), CancellationToken.None)).Should().BeTrue();
        (await collector.RunAsync()).TotalItems.Should().Be(0);
    }

    private static async Task PullAsync(TestRegistry mirror, string name, (SeededManifest Manifest, SeededBlob Config, SeededBlob[] Layers) image)
    {
        using var manifest = await mirror.Client.GetAsync($"/v2/{name}/manifests/v1");
        ((int)manifest.StatusCode).Should().Be(200, await manifest.Content.ReadAsStringAsync());
        (await manifest.Content.ReadAsByteArrayAsync()).Should().Equal(image.Manifest.Bytes);
        foreach (var blob in new[] { image.Config, image.Layers[0] })
        {
            using var get = await mirror.Client.GetAsync($"/v2/{name}/blobs/{blob.Digest}");
            ((int)get.StatusCode).Should().Be(200);
            (await get.Content.ReadAsByteArrayAsync()).Should().Equal(blob.Content);
            // A fetched blob is published after its last byte went out: wait (bounded) for its link.
            var link = DistributionPaths.LayerLink(name, blob.Digest);
            for (var wait = 0; wait < 100 && !await mirror.Storage.ExistsAsync(link, CancellationToken.None); wait++) await Task.Delay(50);
        }
    }

    /// <summary>The Go registry writes its access log after answering: waits (bounded) for the line of a request.</summary>
    private async Task WaitForAccessLogAsync(string path, int count = 1)
    {
        for (var wait = 0; wait < 100 && Upstream.Count("GET", path) < count; wait++) await Task.Delay(50);
    }
}
