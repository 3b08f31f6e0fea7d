using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;
using static Registry.Tests.Mirror.V1MirrorKit;

namespace Registry.Tests.Mirror;

/// <summary>
/// The docker 1.x pull sequence (Docker Registry and Index spec, 'Pull') through a mirror whose upstream is a second
/// instance of ours: every answer as the upstream gives it, and stored so that it is served without the upstream.
/// </summary>
public class V1MirrorPullTests
{
    [Test]
    public async Task The_pull_sequence_through_the_mirror_answers_as_the_upstream_and_the_cache_outlives_it()
    {
        await using var upstream = await StartUpstreamAsync();
        var (baseLayer, topLayer) = (TarBuilder.GzipTar(("./a", "a")), V1Client.RandomBytes(300_000));
        var images = await PushAsync(upstream.Client, "team/app", "latest", baseLayer, topLayer);
        var (bottom, top) = (images[0], images[1]);
        await using var mirror = StartMirror(upstream);
        var client = mirror.Client;

        using (var ping = await client.GetAsync("/v1/_ping"))
            ping.Header("X-Docker-Registry-Standalone").Should().Be("mirror");

        var upstreamList = await upstream.Client.SendAsync(IndexImagesRequest("team/app")).ContinueWith(t => t.Result.Content.ReadAsStringAsync()).Unwrap();
        using (var response = await client.SendAsync(IndexImagesRequest("team/app")))
        {
            ((int)response.StatusCode).Should().Be(200);
            (await response.Content.ReadAsStringAsync()).Should().Be(upstreamList).And.Be($"[{{\"id\": \"{bottom.Id}\"}}, {{\"id\": \"{top.Id}\"}}]");
            response.Header("X-Docker-Endpoints").Should().Be("localhost");
            response.Header("X-Docker-Token").Should().Contain("repository=\"team/app\",access=read");
        }

        (await client.GetAsync("/v1/repositories/team/app/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{top.Id}\"}}"));
        (await client.GetAsync("/v1/repositories/team/app/tags/latest").ReadAsync()).Should().Be((200, $"\"{top.Id}\""));
        (await client.GetAsync($"/v1/images/{top.Id}/ancestry").ReadAsync())
            .Should().Be((200, $"[\"{top.Id}\", \"{bottom.Id}\"]"))
            .And.Be(await upstream.Client.GetAsync($"/v1/images/{top.Id}/ancestry").ReadAsync());
        foreach (var image in new[] { top, bottom })
        {
            using var expected = await upstream.Client.GetAsync($"/v1/images/{image.Id}/json");
            using (var json = await client.GetAsync($"/v1/images/{image.Id}/json"))
            {
                ((int)json.StatusCode).Should().Be(200);
                (await json.Content.ReadAsStringAsync()).Should().Be(image.Json);
                json.Header("X-Docker-Checksum-Payload").Should().Be(expected.Header("X-Docker-Checksum-Payload"))
                    .And.Be(V1Client.PayloadChecksum(image.Json, image.Layer));
                json.Header("X-Docker-Size").Should().Be(expected.Header("X-Docker-Size")).And.Be(image.Layer.Length.ToString());
            }
            using (var layer = await client.GetAsync($"/v1/images/{image.Id}/layer"))
            {
                ((int)layer.StatusCode).Should().Be(200);
                layer.Content.Headers.ContentLength.Should().Be(image.Layer.Length);
                layer.Content.Headers.ContentType!.MediaType.Should().Be("application/octet-stream");
                (await layer.Content.ReadAsByteArrayAsync()).Should().Equal(image.Layer);
            }
        }

        // The mirror's own storage now answers, the upstream gone.
        await upstream.StopAsync();
        (await client.GetAsync("/v1/repositories/team/app/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{top.Id}\"}}"));
        using (var response = await client.SendAsync(IndexImagesRequest("team/app")))
            (await response.Content.ReadAsStringAsync()).Should().Be(upstreamList);
        (await client.GetAsync($"/v1/images/{top.Id}/layer").BytesAsync()).Should().Equal(topLayer);
        using (var json = await client.GetAsync($"/v1/images/{bottom.Id}/json"))
        {
            (await json.Content.ReadAsStringAsync()).Should().Be(bottom.Json);
            json.Header("X-Docker-Checksum-Payload").Should().Be(V1Client.PayloadChecksum(bottom.Json, bottom.Layer));
            json.Header("X-Docker-Size").Should().Be(baseLayer.Length.ToString());
        }
    }

    [Test]
    public async Task What_the_upstream_does_not_have_is_our_normal_404()
    {
        await using var upstream = await StartUpstreamAsync();
        await using var mirror = StartMirror(upstream);
        var id = V1Client.NewImageId();

        (await mirror.Client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Should().Be((404, Error("Image not found")));
        (await mirror.Client.GetAsync($"/v1/images/{id}/ancestry").ReadAsync()).Should().Be((404, Error("Image not found")));
        (await mirror.Client.GetAsync($"/v1/images/{id}/layer").ReadAsync()).Should().Be((404, Error("Image not found")));
        (await mirror.Client.GetAsync("/v1/repositories/nobody/here/tags").ReadAsync()).Should().Be((404, Error("Repository not found")));
        (await mirror.Client.GetAsync("/v1/repositories/nobody/here/tags/latest").ReadAsync()).Should().Be((404, Error("Tag not found")));
        (await mirror.Client.SendAsync(IndexImagesRequest("nobody/here")).ReadAsync()).Should().Be((404, Error("images not found")));
    }

    [TestCase("500 Internal Server Error", null, 502, null, "answered 500")]
    [TestCase("503 Service Unavailable", "Retry-After: 7", 503, "7", "is unavailable (503), retry later")]
    [TestCase("429 Too Many Requests", null, 503, "30", "is unavailable (429), retry later")]
    [TestCase("401 Unauthorized", null, 502, null, "refused the mirror's credentials (401)")]
    public async Task An_upstream_that_answers_with_an_error_is_a_502_or_a_503_naming_it(
        string statusLine, string? header, int status, string? retryAfter, string problem)
    {
        await using var broken = header is null ? new BrokenUpstream(statusLine) : new BrokenUpstream(statusLine, header);
        await using var mirror = TestRegistry.Start(new Dictionary<string, string> { ["MIRROR_SOURCE"] = broken.Url });
        var id = V1Client.NewImageId();

        foreach (var path in new[] { $"/v1/images/{id}/json", $"/v1/images/{id}/layer", "/v1/repositories/some/repo/tags" })
        {
            using var response = await mirror.Client.GetAsync(path);
            ((int)response.StatusCode).Should().Be(status, path);
            response.Header("Retry-After").Should().Be(retryAfter);
            (await response.Content.ReadAsStringAsync()).Should().Be(Error($"Upstream {broken.Url} {problem}"));
        }
        (await mirror.Storage.ExistsAsync($"images/{id}/json", CancellationToken.None)).Should().BeFalse();
    }

    [Test]
    public async Task Eight_concurrent_gets_of_one_uncached_layer_are_one_upstream_get_and_all_intact()
    {
        await using var upstream = await StartUpstreamAsync();
        var layer = V1Client.RandomBytes(16 * 1024 * 1024);
        var image = (await PushAsync(upstream.Client, "team/big", "latest", layer))[0];
        await using var mirror = StartMirror(upstream);
        (await mirror.Client.GetAsync($"/v1/images/{image.Id}/json").ReadAsync()).Status.Should().Be(200);

        var bodies = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => mirror.Client.GetAsync($"/v1/images/{image.Id}/layer").BytesAsync()));

        foreach (var body in bodies) body.Should().Equal(layer);
        await Task.Delay(200);
        RequestsLogged(upstream, $"/v1/images/{image.Id}/layer").Should().Be(1);
        (await mirror.Storage.SizeAsync($"images/{image.Id}/layer", CancellationToken.None)).Should().Be(layer.Length);
    }
}
