using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;
using static Registry.Tests.Mirror.V1MirrorKit;

namespace Registry.Tests.Mirror;

/// <summary>
/// What a V1 mirror serves when the upstream changes or goes away (docs/configuration.md, 'V1 mirroring'): tags
/// within and after <c>mirroring.tags_cache_ttl</c>, the cache while the upstream is down, 503 for what was never
/// fetched, local pushes that win and work without the upstream.
/// </summary>
public class V1MirrorCacheTests
{
    [Test]
    public async Task A_tag_moved_upstream_is_old_within_the_ttl_and_new_after_it()
    {
        await using var upstream = await StartUpstreamAsync();
        var first = (await PushAsync(upstream.Client, "team/moving", "latest", V1Client.RandomBytes(1000)))[0];
        await using var mirror = StartMirror(upstream, tagsTtlSeconds: 3);
        (await mirror.Client.GetAsync("/v1/repositories/team/moving/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{first.Id}\"}}"));
        var copiedAt = DateTime.UtcNow;

        var second = (await PushAsync(upstream.Client, "team/moving", "latest", V1Client.RandomBytes(1000)))[0];
        (await upstream.Client.GetAsync("/v1/repositories/team/moving/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{second.Id}\"}}"));
        var within = await mirror.Client.GetAsync("/v1/repositories/team/moving/tags/latest").ReadAsync();
        DateTime.UtcNow.Should().BeBefore(copiedAt.AddSeconds(3), "the check above must run within the ttl");
        within.Should().Be((200, $"\"{first.Id}\""));

        await Task.Delay(copiedAt.AddSeconds(3.5) - DateTime.UtcNow);
        (await mirror.Client.GetAsync("/v1/repositories/team/moving/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{second.Id}\"}}"));
        (await mirror.Client.GetAsync("/v1/repositories/team/moving/tags/latest").ReadAsync()).Should().Be((200, $"\"{second.Id}\""));
        (await mirror.Client.GetAsync($"/v1/images/{second.Id}/layer").BytesAsync()).Should().Equal(second.Layer);
    }

    [Test]
    public async Task With_the_upstream_stopped_cached_content_is_served_and_the_rest_is_503()
    {
        await using var upstream = await StartUpstreamAsync();
        var cached = (await PushAsync(upstream.Client, "team/cached", "v1", V1Client.RandomBytes(5000)))[0];
        var never = (await PushAsync(upstream.Client, "team/never", "v1", V1Client.RandomBytes(5000)))[0];
        await using var mirror = StartMirror(upstream, tagsTtlSeconds: 1);
        var client = mirror.Client;
        (await client.GetAsync("/v1/repositories/team/cached/tags").ReadAsync()).Status.Should().Be(200);
        (await client.GetAsync($"/v1/images/{cached.Id}/layer").BytesAsync()).Should().Equal(cached.Layer);
        var unreachable = Error($"Upstream http://127.0.0.1:{upstream.Port} is unreachable, retry later");

        await upstream.StopAsync();
        await Task.Delay(1100);

        // The tag copy is older than the ttl: served as it is, the upstream being down.
        (await client.GetAsync("/v1/repositories/team/cached/tags").ReadAsync()).Should().Be((200, $"{{\"v1\": \"{cached.Id}\"}}"));
        (await client.GetAsync($"/v1/images/{cached.Id}/json").ReadAsync()).Should().Be((200, cached.Json));
        (await client.GetAsync($"/v1/images/{cached.Id}/layer").BytesAsync()).Should().Equal(cached.Layer);
        foreach (var path in new[] { $"/v1/images/{never.Id}/json", $"/v1/images/{never.Id}/ancestry", $"/v1/images/{never.Id}/layer", "/v1/repositories/team/never/tags", "/v1/repositories/team/never/tags/v1" })
        {
            using var response = await client.GetAsync(path);
            ((int)response.StatusCode).Should().Be(503, path);
            response.Header("Retry-After").Should().Be("30");
            (await response.Content.ReadAsStringAsync()).Should().Be(unreachable);
        }
        using (var response = await client.SendAsync(IndexImagesRequest("team/never")))
            (((int)response.StatusCode), await response.Content.ReadAsStringAsync()).Should().Be((503, unreachable));
        (await mirror.Storage.ExistsAsync($"images/{never.Id}/json", CancellationToken.None)).Should().BeFalse();
        (await mirror.Storage.ExistsAsync($"images/{never.Id}/layer", CancellationToken.None)).Should().BeFalse();
    }

    [Test]
    public async Task An_upstream_cut_midway_aborts_the_client_and_stores_nothing()
    {
        await using var upstream = await StartUpstreamAsync();
        var layer = V1Client.RandomBytes(4 * 1024 * 1024);
        var image = (await PushAsync(upstream.Client, "team/cut", "latest", layer))[0];
        await using var proxy = new CuttingProxy(upstream.Port, cutAfterBytes: 1024 * 1024);
        // A real Kestrel mirror: what the client sees of an aborted response is what docker would see.
        await using var mirror = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["MIRROR_SOURCE"] = $"http://127.0.0.1:{proxy.Port}" });
        (await mirror.Client.GetAsync($"/v1/images/{image.Id}/json").ReadAsync()).Should().Be((200, image.Json));

        var pull = async () =>
        {
            using var response = await mirror.Client.GetAsync($"/v1/images/{image.Id}/layer", HttpCompletionOption.ResponseHeadersRead);
            ((int)response.StatusCode).Should().Be(200);
            response.Content.Headers.ContentLength.Should().Be(layer.Length);
            return await response.Content.ReadAsByteArrayAsync();
        };
        // Cut after the headers (the usual case) or, if the upstream failed first, before them: a broken transfer either way.
        await pull.Should().ThrowAsync<HttpRequestException>();

        var imageDir = Path.Combine(mirror.StoragePath, "images", image.Id);
        Directory.GetFiles(imageDir).Select(Path.GetFileName).Should().BeEquivalentTo("json", "ancestry", "_checksum", "_mirror_size");
        (await mirror.Client.GetAsync($"/v1/images/{image.Id}/json").ReadAsync()).Should().Be((200, image.Json));
    }

    [Test]
    public async Task A_layer_that_does_not_match_the_upstreams_checksum_is_never_completed_nor_stored()
    {
        await using var upstream = await StartUpstreamAsync();
        var layer = V1Client.RandomBytes(512 * 1024);
        var image = (await PushAsync(upstream.Client, "team/corrupt", "latest", layer))[0];
        // The upstream's disk rots: same length, other bytes, the recorded checksum unchanged.
        await File.WriteAllBytesAsync(Path.Combine(upstream.StoragePath, "images", image.Id, "layer"), V1Client.RandomBytes(layer.Length));
        await using var mirror = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["MIRROR_SOURCE"] = upstream.BaseAddress.AbsoluteUri });
        (await mirror.Client.GetAsync($"/v1/images/{image.Id}/json").ReadAsync()).Should().Be((200, image.Json));

        var pull = async () => await mirror.Client.GetByteArrayAsync($"/v1/images/{image.Id}/layer");
        await pull.Should().ThrowAsync<HttpRequestException>();

        File.Exists(Path.Combine(mirror.StoragePath, "images", image.Id, "layer")).Should().BeFalse();
        (await mirror.PrintsAsync($"Mirror layer {image.Id} from http://127.0.0.1:{upstream.Port} not stored: checksum mismatch", TimeSpan.FromSeconds(10)))
            .Should().BeTrue(mirror.Output);
    }

    [Test]
    public async Task A_local_push_wins_over_the_upstream_and_pulls_back_with_the_upstream_stopped()
    {
        await using var upstream = await StartUpstreamAsync();
        var theirs = (await PushAsync(upstream.Client, "team/shared", "latest", V1Client.RandomBytes(2000)))[0];
        await using var mirror = StartMirror(upstream, tagsTtlSeconds: 0);
        var client = mirror.Client;
        var ours = (await PushAsync(client, "team/shared", "latest", V1Client.RandomBytes(3000)))[0];

        (await client.GetAsync("/v1/repositories/team/shared/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{ours.Id}\"}}"));
        RequestsLogged(upstream, "/v1/repositories/team/shared/tags").Should().Be(0);
        (await client.GetAsync($"/v1/images/{theirs.Id}/json").ReadAsync()).Should().Be((200, theirs.Json));

        // A local repository tagged without an index list is not filled with the upstream's list either.
        await PushAsync(upstream.Client, "team/tagged", "latest", V1Client.RandomBytes(100));
        (await client.PutTagAsync("team/tagged", "mine", ours.Id).ReadAsync()).Should().Be((200, "true"));
        (await client.SendAsync(IndexImagesRequest("team/tagged")).ReadAsync()).Should().Be((404, Error("images not found")));
        (await client.GetAsync("/v1/repositories/team/tagged/tags").ReadAsync()).Should().Be((200, $"{{\"mine\": \"{ours.Id}\"}}"));

        await upstream.StopAsync();
        (await client.GetAsync("/v1/repositories/team/shared/tags/latest").ReadAsync()).Should().Be((200, $"\"{ours.Id}\""));
        using (var response = await client.SendAsync(IndexImagesRequest("team/shared")))
            (await response.Content.ReadAsStringAsync()).Should().Be($"[{{\"id\": \"{ours.Id}\"}}]");
        (await client.GetAsync($"/v1/images/{ours.Id}/ancestry").ReadAsync()).Should().Be((200, $"[\"{ours.Id}\"]"));
        (await client.GetAsync($"/v1/images/{ours.Id}/layer").BytesAsync()).Should().Equal(ours.Layer);

        // A mirrored repository pushed to locally becomes local too: a new tag is never replaced by the upstream's list.
        var local = (await PushAsync(client, "team/other", "mine", V1Client.RandomBytes(100)))[0];
        (await client.GetAsync("/v1/repositories/team/other/tags").ReadAsync()).Should().Be((200, $"{{\"mine\": \"{local.Id}\"}}"));
    }

    [Test]
    public async Task An_upstream_with_htpasswd_is_mirrored_with_basic_or_index_tokens_and_never_shows_the_credentials()
    {
        await using var @private = await StartPrivateUpstreamAsync();
        var (upstream, image) = (@private.Upstream, @private.Image);
        (await upstream.Client.GetAsync($"/v1/images/{image.Id}/json").ReadAsync()).Status.Should().Be(401);

        var url = $"http://mirror:s3cret-pw@127.0.0.1:{upstream.Port}";
        await using (var mirror = StartMirror(upstream, source: url))
        {
            using (var response = await mirror.Client.SendAsync(IndexImagesRequest("team/private")))
                ((int)response.StatusCode).Should().Be(200);
            (await mirror.Client.GetAsync("/v1/repositories/team/private/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{image.Id}\"}}"));
            (await mirror.Client.GetAsync($"/v1/images/{image.Id}/layer").BytesAsync()).Should().Equal(image.Layer);
        }

        // Credentials for the index only: the registry's 401 sends the mirror through the index token flow.
        await using (var tokens = TestRegistry.Start(new Dictionary<string, string>
        {
            ["MIRROR_SOURCE"] = $"http://127.0.0.1:{upstream.Port}",
            ["MIRROR_SOURCE_INDEX"] = url,
        }))
        {
            (await tokens.Client.GetAsync("/v1/repositories/team/private/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{image.Id}\"}}"));
            (await tokens.Client.GetAsync($"/v1/images/{image.Id}/json").ReadAsync()).Should().Be((200, image.Json));
            (await tokens.Client.GetAsync($"/v1/images/{image.Id}/layer").BytesAsync()).Should().Equal(image.Layer);
        }

        await using var wrong = StartMirror(upstream, source: $"http://mirror:wrong-pw@127.0.0.1:{upstream.Port}");
        (await wrong.Client.GetAsync($"/v1/images/{image.Id}/json").ReadAsync())
            .Should().Be((502, Error($"Upstream http://127.0.0.1:{upstream.Port} refused the mirror's credentials (401)")));
    }
}
