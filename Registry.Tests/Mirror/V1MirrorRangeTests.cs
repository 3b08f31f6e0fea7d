using System.Net.Http.Headers;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;
using static Registry.Tests.Mirror.V1MirrorKit;

namespace Registry.Tests.Mirror;

/// <summary>
/// A layer GET with <c>Range</c> that misses on a V1 mirror (docs/configuration.md, 'V1 mirroring'): the client gets
/// exactly its range, the whole layer is still fetched once, verified and stored, and the upstream is never asked for a range.
/// </summary>
public class V1MirrorRangeTests
{
    [Test]
    public async Task A_range_on_a_miss_gets_206_with_its_bytes_while_the_whole_layer_is_fetched_once_and_stored()
    {
        await using var upstream = await StartUpstreamAsync();
        var layer = V1Client.RandomBytes(3 * 1024 * 1024 + 17);
        var image = (await PushAsync(upstream.Client, "team/ranged", "latest", layer))[0];
        await using var mirror = StartMirror(upstream);

        using (var response = await mirror.Client.SendAsync(Ranged($"/v1/images/{image.Id}/layer", "bytes=1000-199999")))
        {
            ((int)response.StatusCode).Should().Be(206);
            response.Header("Content-Range").Should().Be($"bytes 1000-199999/{layer.Length}");
            response.Header("Accept-Ranges").Should().Be("bytes");
            response.Content.Headers.ContentLength.Should().Be(199000);
            (await response.Content.ReadAsByteArrayAsync()).Should().Equal(layer[1000..200000]);
        }

        // The fetch goes on after the client's range: the whole layer lands in storage, verified.
        var stored = Path.Combine(mirror.StorageRoot, "images", image.Id, "layer");
        for (var i = 0; i < 100 && !File.Exists(stored); i++) await Task.Delay(100);
        (await File.ReadAllBytesAsync(stored)).Should().Equal(layer);

        // docker 1.x resumes with bytes=N-SIZE (one past the last byte): clamped to the last byte.
        using (var response = await mirror.Client.SendAsync(Ranged($"/v1/images/{image.Id}/layer", $"bytes={layer.Length - 10}-{layer.Length}")))
        {
            ((int)response.StatusCode).Should().Be(206);
            response.Header("Content-Range").Should().Be($"bytes {layer.Length - 10}-{layer.Length - 1}/{layer.Length}");
            (await response.Content.ReadAsByteArrayAsync()).Should().Equal(layer[^10..]);
        }
        (await mirror.Client.GetAsync($"/v1/images/{image.Id}/layer").BytesAsync()).Should().Equal(layer);
        (await RequestsLoggedAsync(upstream, $"/v1/images/{image.Id}/layer")).Should().Be(1);
    }

    [Test]
    public async Task A_resume_range_during_a_full_pull_needs_no_second_upstream_fetch()
    {
        await using var upstream = await StartUpstreamAsync();
        var layer = V1Client.RandomBytes(8 * 1024 * 1024);
        var image = (await PushAsync(upstream.Client, "team/joined", "latest", layer))[0];
        await using var mirror = StartMirror(upstream);
        (await mirror.Client.GetAsync($"/v1/images/{image.Id}/json").ReadAsync()).Should().Be((200, image.Json));

        // A full pull and a resume at the same time: one upstream GET serves both.
        using var full = await mirror.Client.GetAsync($"/v1/images/{image.Id}/layer", HttpCompletionOption.ResponseHeadersRead);
        ((int)full.StatusCode).Should().Be(200);
        full.Header("Accept-Ranges").Should().Be("bytes");
        var resume = mirror.Client.SendAsync(Ranged($"/v1/images/{image.Id}/layer", $"bytes={layer.Length / 2}-"));
        (await full.Content.ReadAsByteArrayAsync()).Should().Equal(layer);
        using (var response = await resume)
        {
            ((int)response.StatusCode).Should().Be(206);
            response.Header("Content-Range").Should().Be($"bytes {layer.Length / 2}-{layer.Length - 1}/{layer.Length}");
            (await response.Content.ReadAsByteArrayAsync()).Should().Equal(layer[(layer.Length / 2)..]);
        }
        (await RequestsLoggedAsync(upstream, $"/v1/images/{image.Id}/layer")).Should().Be(1);
    }

    [Test]
    public async Task A_range_past_the_end_on_a_miss_is_416_with_the_size_and_the_layer_is_still_stored()
    {
        await using var upstream = await StartUpstreamAsync();
        var layer = V1Client.RandomBytes(70000);
        var image = (await PushAsync(upstream.Client, "team/past", "latest", layer))[0];
        await using var mirror = StartMirror(upstream);

        using (var response = await mirror.Client.SendAsync(Ranged($"/v1/images/{image.Id}/layer", $"bytes={layer.Length}-")))
        {
            ((int)response.StatusCode).Should().Be(416);
            response.Header("Content-Range").Should().Be($"bytes */{layer.Length}");
            (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        }
        var stored = Path.Combine(mirror.StorageRoot, "images", image.Id, "layer");
        for (var i = 0; i < 100 && !File.Exists(stored); i++) await Task.Delay(100);
        (await File.ReadAllBytesAsync(stored)).Should().Equal(layer);
        (await RequestsLoggedAsync(upstream, $"/v1/images/{image.Id}/layer")).Should().Be(1);
    }

    [Test]
    public async Task A_range_on_a_miss_whose_upstream_is_down_is_503_naming_it()
    {
        await using var upstream = await StartUpstreamAsync();
        var image = (await PushAsync(upstream.Client, "team/down", "latest", V1Client.RandomBytes(5000)))[0];
        await using var mirror = StartMirror(upstream);
        await upstream.StopAsync();

        using var response = await mirror.Client.SendAsync(Ranged($"/v1/images/{image.Id}/layer", "bytes=0-99"));
        ((int)response.StatusCode).Should().Be(503);
        response.Header("Retry-After").Should().Be("30");
        response.Header("Content-Range").Should().BeNull();
        (await response.Content.ReadAsStringAsync()).Should().Be(Error($"Upstream http://127.0.0.1:{upstream.Port} is unreachable, retry later"));
    }

    private static HttpRequestMessage Ranged(string path, string range)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Range", range);
        return request;
    }
}
