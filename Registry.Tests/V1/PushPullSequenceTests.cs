using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V1;

/// <summary>The docker 1.x push and pull sequences of Docker Registry and Index spec, 'Push' and 'Pull', and docs/client-behaviour.md, 'V1 standalone exchange', request by request.</summary>
public class PushPullSequenceTests
{
    private const string UserAgent = "docker/1.3.0 go/go1.3.3 git-commit/c78088f kernel/3.16.0 os/linux arch/amd64";

    [Test]
    public async Task Docker_1x_push_then_pull()
    {
        await using var registry = TestRegistry.Start();
        var client = registry.Client;
        client.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", UserAgent);
        var (a, b) = (V1Client.NewImageId(), V1Client.NewImageId());
        var (layerA, layerB) = (TarBuilder.GzipTar(("./a", "a")), TarBuilder.GzipTar(("./b", "b")));

        // push
        using (var ping = await client.GetAsync("/v1/_ping"))
            ping.Header("X-Docker-Registry-Standalone").Should().Be("True");
        var put = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/demo/")
        {
            Content = new StringContent($"[{{\"id\":\"{a}\"}},{{\"id\":\"{b}\",\"Tag\":\"latest\"}}]", Encoding.UTF8, "application/json"),
        };
        put.Headers.Add("X-Docker-Token", "true");
        put.Headers.TryAddWithoutValidation("Authorization", "Basic Og==");
        string token;
        using (var response = await client.SendAsync(put))
        {
            ((int)response.StatusCode).Should().Be(200);
            response.Header("X-Docker-Endpoints").Should().Be("localhost");
            token = response.Header("X-Docker-Token")!;
            token.Should().Contain("repository=\"library/demo\",access=write");
        }
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Token " + token);

        (await client.GetAsync($"/v1/images/{a}/json").ReadAsync()).Should().Be((404, "{\"error\": \"Image not found\"}"));
        await client.PushImageAsync(a, layerA);
        (await client.GetAsync($"/v1/images/{b}/json").ReadAsync()).Status.Should().Be(404);
        await client.PushImageAsync(b, layerB, parent: a);
        (await client.PutTagAsync("demo", "latest", b).ReadAsync()).Should().Be((200, "true"));
        using (var final = await client.PutIndexAsync("/v1/repositories/demo/images", "[]"))
        {
            ((int)final.StatusCode).Should().Be(204);
            final.Header("X-Docker-Endpoints").Should().Be("localhost");
        }

        // pull
        var images = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/demo/images");
        images.Headers.Add("X-Docker-Token", "true");
        using (var response = await client.SendAsync(images))
        {
            ((int)response.StatusCode).Should().Be(200);
            (await response.Content.ReadAsStringAsync()).Should().Be($"[{{\"id\": \"{a}\"}}, {{\"id\": \"{b}\"}}]");
        }
        (await client.GetAsync("/v1/repositories/library/demo/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{b}\"}}"));
        (await client.GetAsync($"/v1/images/{b}/ancestry").ReadAsync()).Should().Be((200, $"[\"{b}\", \"{a}\"]"));
        foreach (var (id, layer) in new[] { (a, layerA), (b, layerB) })
        {
            using var json = await client.GetAsync($"/v1/images/{id}/json");
            ((int)json.StatusCode).Should().Be(200);
            json.Header("X-Docker-Size").Should().Be(layer.Length.ToString());
            (await client.GetByteArrayAsync($"/v1/images/{id}/layer")).Should().Equal(layer);
        }

        // the on-disk result of docs/client-behaviour.md, 'V1 standalone exchange'
        Directory.GetFiles(Path.Combine(registry.StorageRoot, "images", a)).Select(Path.GetFileName)
            .Should().BeEquivalentTo("json", "layer", "ancestry", "_checksum");
        Directory.GetFiles(Path.Combine(registry.StorageRoot, "repositories/library/demo")).Select(Path.GetFileName)
            .Should().BeEquivalentTo("_index_images", "tag_latest", "taglatest_json", "json");
    }

    [Test]
    public async Task Resumed_pull_gets_206_then_416_at_the_end()
    {
        await using var registry = TestRegistry.Start();
        var id = V1Client.NewImageId();
        var layer = V1Client.RandomBytes(1000);
        await registry.Client.PushImageAsync(id, layer);

        var resume = new HttpRequestMessage(HttpMethod.Get, $"/v1/images/{id}/layer");
        resume.Headers.TryAddWithoutValidation("Range", "bytes=600-1000");
        using (var response = await registry.Client.SendAsync(resume))
        {
            ((int)response.StatusCode).Should().Be(206);
            response.Content.Headers.ContentRange!.ToString().Should().Be("bytes 600-999/1000");
            (await response.Content.ReadAsByteArrayAsync()).Should().Equal(layer.Skip(600));
        }
        var done = new HttpRequestMessage(HttpMethod.Get, $"/v1/images/{id}/layer");
        done.Headers.TryAddWithoutValidation("Range", "bytes=1000-1000");
        using (var response = await registry.Client.SendAsync(done))
        {
            ((int)response.StatusCode).Should().Be(416);
            response.Content.Headers.ContentLength.Should().Be(0);
        }
    }
}
