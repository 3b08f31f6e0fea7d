using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V1;

/// <summary>A data directory written by the Python docker-registry 0.9.x, byte for byte, is served as is.</summary>
public class OriginalLayoutTests
{
    private const string Base = "511136ea3c5a64f264b78b5433614aec563103b4d4702f3ba7d4d2698e22c158";
    private const string Child = "4c9c0e9c0e3b2f6b9a7e4cb7a1e2b0f3c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4";

    [Test]
    public async Task Original_tree_is_served_and_indexed()
    {
        var root = Path.Combine(Path.GetTempPath(), "registry-orig-" + Guid.NewGuid().ToString("N"));
        var storage = Path.Combine(root, "storage");
        var baseJson = $"{{\"id\": \"{Base}\", \"comment\": \"Imported from -\", \"created\": \"2013-06-13T14:03:50.821769-07:00\", \"container_config\": {{\"Hostname\": \"\"}}, \"docker_version\": \"0.4.0\", \"architecture\": \"x86_64\", \"Size\": 0}}";
        var childJson = $"{{\"id\": \"{Child}\", \"parent\": \"{Base}\", \"created\": \"2014-10-01T20:46:08.914288461Z\", \"Size\": 2433303}}";
        var baseLayer = TarBuilder.GzipTar(("./", null));
        var childLayer = TarBuilder.GzipTar(("./bin/", null), ("./bin/sh", "#!/bin/true\n"));

        Write(storage, $"images/{Base}/json", baseJson);
        Write(storage, $"images/{Base}/layer", baseLayer);
        Write(storage, $"images/{Base}/ancestry", $"[\"{Base}\"]");
        Write(storage, $"images/{Base}/_checksum", V1Client.PayloadChecksum(baseJson, baseLayer) + "\n"); // legacy bare string
        Write(storage, $"images/{Child}/json", childJson);
        Write(storage, $"images/{Child}/layer", childLayer);
        Write(storage, $"images/{Child}/ancestry", $"[\"{Child}\", \"{Base}\"]");
        Write(storage, $"images/{Child}/_checksum", $"[\"{V1Client.PayloadChecksum(childJson, childLayer)}\"]");
        Write(storage, "repositories/library/busybox/tag_latest", Child);
        Write(storage, "repositories/library/busybox/taglatest_json", "{\"arch\": \"amd64\", \"docker_go_version\": \"go1.3.3\", \"docker_version\": \"1.3.0\", \"kernel\": \"3.16.0\", \"last_update\": 1417000000, \"os\": \"linux\"}");
        Write(storage, "repositories/library/busybox/json", "{\"arch\": \"amd64\", \"docker_go_version\": \"go1.3.3\", \"docker_version\": \"1.3.0\", \"kernel\": \"3.16.0\", \"last_update\": 1417000000, \"os\": \"linux\"}");
        Write(storage, "repositories/library/busybox/_index_images", $"[{{\"id\": \"{Base}\"}}, {{\"id\": \"{Child}\", \"Tag\": \"latest\"}}]");
        Write(storage, "repositories/team/xxxxx%2525%2524_-test/tag_v1", Child + "\n");

        await using var registry = TestRegistry.Start(root: root);
        var client = registry.Client;

        (await client.GetAsync("/v1/repositories/busybox/images").ReadAsync())
            .Should().Be((200, $"[{{\"id\": \"{Base}\"}}, {{\"id\": \"{Child}\", \"Tag\": \"latest\"}}]"));
        (await client.GetAsync("/v1/repositories/library/busybox/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{Child}\"}}"));
        (await client.GetAsync($"/v1/images/{Child}/ancestry").ReadAsync()).Should().Be((200, $"[\"{Child}\", \"{Base}\"]"));

        using (var json = await client.GetAsync($"/v1/images/{Base}/json"))
        {
            (await json.Content.ReadAsStringAsync()).Should().Be(baseJson);
            json.Header("X-Docker-Checksum-Payload").Should().Be(V1Client.PayloadChecksum(baseJson, baseLayer));
            json.Header("X-Docker-Size").Should().Be(baseLayer.Length.ToString());
        }
        (await client.GetByteArrayAsync($"/v1/images/{Child}/layer")).Should().Equal(childLayer);
        (await client.GetAsync("/v1/repositories/team/xxxxx%25%24_-test/tags").ReadAsync()).Should().Be((200, $"{{\"v1\": \"{Child}\"}}"));
        (await client.GetAsync("/v1/repositories/busybox/tags/latest/json").ReadAsync()).Body.Should().Contain("\"last_update\": 1417000000");

        var search = JsonNode.Parse(await client.GetStringAsync("/v1/search"))!;
        search["results"]!.AsArray().Select(r => (string)r!["name"]!)
            .Should().Equal("library/busybox", "team/xxxxx%25%24_-test");

        // New pushes on top of the old tree work: a child of the original base.
        var newId = V1Client.NewImageId();
        await client.PushImageAsync(newId, [1], parent: Base);
        (await client.GetAsync($"/v1/images/{newId}/ancestry").ReadAsync()).Body.Should().Be($"[\"{newId}\", \"{Base}\"]");
    }

    private static void Write(string root, string path, string content) => Write(root, path, Encoding.UTF8.GetBytes(content));

    private static void Write(string root, string path, byte[] content)
    {
        var full = Path.Combine(root, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
    }
}
