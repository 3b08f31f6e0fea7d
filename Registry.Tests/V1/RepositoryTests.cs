using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V1;

public class RepositoryTests : RegistryTestBase
{
    private async Task<string> PushAsync()
    {
        var id = V1Client.NewImageId();
        await Client.PushImageAsync(id, [1, 2, 3]);
        return id;
    }

    [Test]
    public async Task Tag_cycle_with_implicit_library_namespace()
    {
        var id = await PushAsync();
        var put = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/busybox/tags/latest")
        {
            Content = new StringContent($"\"{id}\"", Encoding.UTF8, "application/json"),
        };
        put.Headers.TryAddWithoutValidation("User-Agent", "docker/1.3.0 go/go1.3.3 git-commit/c78088f kernel/3.16.0 os/linux arch/amd64");
        (await Client.SendAsync(put).ReadAsync()).Should().Be((200, "true"));

        (await Client.GetAsync("/v1/repositories/library/busybox/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{id}\"}}"));
        (await Client.GetAsync("/v1/repositories/busybox/tags/").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{id}\"}}"));
        (await Client.GetAsync("/v1/repositories/busybox/tags/latest").ReadAsync()).Should().Be((200, $"\"{id}\""));

        var (status, tagJson) = await Client.GetAsync("/v1/repositories/library/busybox/tags/latest/json").ReadAsync();
        status.Should().Be(200);
        tagJson.Should().MatchRegex("^\\{\"arch\": \"amd64\", \"docker_go_version\": \"go1.3.3\", \"docker_version\": \"1.3.0\", \"kernel\": \"3.16.0\", \"last_update\": \\d+, \"os\": \"linux\"\\}$");
        (await Client.GetAsync("/v1/repositories/busybox/json").ReadAsync()).Body.Should().Be(tagJson);

        File.ReadAllText(Path.Combine(Registry.StorageRoot, "repositories/library/busybox/tag_latest")).Should().Be(id);
        File.Exists(Path.Combine(Registry.StorageRoot, "repositories/library/busybox/taglatest_json")).Should().BeTrue();

        (await Client.DeleteAsync("/v1/repositories/busybox/tags/latest").ReadAsync()).Should().Be((200, "true"));
        (await Client.GetAsync("/v1/repositories/busybox/tags/latest").ReadAsync()).Should().Be((404, "{\"error\": \"Tag not found\"}"));
        (await Client.DeleteAsync("/v1/repositories/busybox/tags/latest").ReadAsync()).Should().Be((404, "{\"error\": \"Tag not found: latest\"}"));
        File.Exists(Path.Combine(Registry.StorageRoot, "repositories/library/busybox/json")).Should().BeFalse();
    }

    [Test]
    public async Task Unknown_repository_tag_list_is_404_but_metadata_defaults_are_200()
    {
        (await Client.GetAsync("/v1/repositories/nobody/nothing/tags").ReadAsync()).Should().Be((404, "{\"error\": \"Repository not found\"}"));
        const string defaults = "{\"arch\": \"amd64\", \"docker_go_version\": null, \"docker_version\": null, \"kernel\": null, \"last_update\": null, \"os\": \"linux\"}";
        (await Client.GetAsync("/v1/repositories/nobody/nothing/tags/x/json").ReadAsync()).Should().Be((200, defaults));
        (await Client.GetAsync("/v1/repositories/nobody/nothing/json").ReadAsync()).Should().Be((200, defaults));
        (await Client.GetAsync("/v1/repositories/nobody/nothing/properties").ReadAsync()).Should().Be((200, "{\"access\": \"public\"}"));
    }

    [TestCase(".x")]
    [TestCase("-x")]
    [TestCase("$<x>")]
    [TestCase("a%0A")]
    public async Task Invalid_tag_name_answers_400(string tag)
    {
        var id = await PushAsync();
        (await Client.PutTagAsync("ns/repo", tag, id).ReadAsync())
            .Should().Be((400, "{\"error\": \"Invalid tag name (must match ^[\\\\w][\\\\w.-]{0,127}$)\"}"));
    }

    [Test]
    public async Task Tag_put_validation()
    {
        var id = await PushAsync();
        (await Client.PutTagAsync("ns/repo", "_valid", id).ReadAsync()).Should().Be((200, "true"));
        (await Client.PutAsync("/v1/repositories/ns/repo/tags/t", new StringContent("nope")).ReadAsync()).Should().Be((400, "{\"error\": \"Invalid data\"}"));
        (await Client.PutAsync("/v1/repositories/ns/repo/tags/t", new StringContent("\"\"")).ReadAsync()).Should().Be((400, "{\"error\": \"Invalid data\"}"));
        (await Client.PutAsync("/v1/repositories/ns/repo/tags/t", new StringContent("42")).ReadAsync()).Should().Be((400, "{\"error\": \"Invalid data\"}"));
        (await Client.PutTagAsync("ns/repo", "t", V1Client.NewImageId()).ReadAsync()).Should().Be((404, "{\"error\": \"Image not found\"}"));
        (await Client.PutTagAsync("ns/repo", "t", "../../etc").ReadAsync()).Should().Be((404, "{\"error\": \"Image not found\"}"));
    }

    [Test]
    public async Task Tag_named_with_leading_underscore_does_not_list_its_metadata_as_a_tag()
    {
        var id = await PushAsync();
        await Client.PutTagAsync("ns/repo", "_x", id);
        (await Client.GetAsync("/v1/repositories/ns/repo/tags").ReadAsync()).Should().Be((200, $"{{\"_x\": \"{id}\"}}"));
    }

    [Test]
    public async Task Tags_list_ignores_non_tag_files_and_is_empty_object_when_only_metadata_remains()
    {
        var id = await PushAsync();
        await Client.PutIndexAsync("/v1/repositories/ns/repo/", $"[{{\"id\": \"{id}\"}}]");
        (await Client.GetAsync("/v1/repositories/ns/repo/tags").ReadAsync()).Should().Be((200, "{}"));
    }

    [Test]
    public async Task Properties_toggle_private_and_validate_the_body()
    {
        (await Client.PutAsync("/v1/repositories/ns/repo/properties", new StringContent("{\"access\": \"private\"}")).ReadAsync()).Should().Be((200, "true"));
        (await Client.GetAsync("/v1/repositories/ns/repo/properties").ReadAsync()).Should().Be((200, "{\"access\": \"private\"}"));
        (await Client.PutAsync("/v1/repositories/ns/repo/properties", new StringContent("{\"access\": \"public\"}")).ReadAsync()).Should().Be((200, "true"));
        (await Client.GetAsync("/v1/repositories/ns/repo/properties").ReadAsync()).Should().Be((200, "{\"access\": \"public\"}"));
        foreach (var bad in new[] { "", "[]", "{}", "\"private\"", "{\"other\": 1}", "{\"description\": 5}" })
            (await Client.PutAsync("/v1/repositories/ns/repo/properties", new StringContent(bad)).ReadAsync()).Should().Be((400, "{\"error\": \"Invalid data\"}"), bad);
    }

    [TestCase("/v1/repositories/ns/repo/")]
    [TestCase("/v1/repositories/ns/repo")]
    [TestCase("/v1/repositories/ns/repo/tags")]
    public async Task Repository_delete_removes_tags_but_not_images(string path)
    {
        var id = await PushAsync();
        await Client.PutTagAsync("ns/repo", "latest", id);
        await Client.PutTagAsync("ns/repo", "v1", id);
        (await Client.DeleteAsync(path).ReadAsync()).Should().Be((200, "true"));
        (await Client.GetAsync("/v1/repositories/ns/repo/tags").ReadAsync()).Status.Should().Be(404);
        (await Client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Status.Should().Be(200);
        (await Client.DeleteAsync(path).ReadAsync()).Should().Be((404, "{\"error\": \"Repository not found\"}"));
    }

    [Test]
    public async Task Special_characters_in_repository_names_are_stored_double_escaped()
    {
        var id = await PushAsync();
        const string repo = "xxxxx%25%24_-test";
        (await Client.PutTagAsync($"library/{repo}", "latest", id).ReadAsync()).Should().Be((200, "true"));
        Directory.Exists(Path.Combine(Registry.StorageRoot, "repositories/library/xxxxx%2525%2524_-test")).Should().BeTrue();
        (await Client.GetAsync($"/v1/repositories/{repo}/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{id}\"}}"));
        (await Client.GetAsync($"/v1/repositories/{repo}/json").ReadAsync()).Status.Should().Be(200);
        (await Client.DeleteAsync($"/v1/repositories/{repo}/tags").ReadAsync()).Should().Be((200, "true"));
    }

    [TestCase("..")]
    [TestCase("../..")]
    [TestCase("%2E%2E/%2E%2E")]
    [TestCase("ns/..")]
    public async Task Dot_dot_names_stay_inside_storage(string repo)
    {
        var id = await PushAsync();
        var (status, _) = await Client.PutTagAsync(repo, "latest", id).ReadAsync();
        status.Should().BeOneOf(200, 400, 404);
        Directory.GetFiles(Path.GetDirectoryName(Registry.StorageRoot)!, "tag_latest", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(Path.Combine(Registry.StorageRoot, "repositories") + "/"))
            .Should().BeEmpty();
    }

    [Test]
    public async Task Overlong_and_control_character_names_answer_400()
    {
        (await Client.GetAsync($"/v1/repositories/ns/{new string('a', 300)}/tags").ReadAsync()).Should().Be((400, "{\"error\": \"Repository name too long\"}"));
        (await Client.GetAsync($"/v1/repositories/{new string('n', 300)}/repo/tags").ReadAsync()).Should().Be((400, "{\"error\": \"Repository name too long\"}"));
        (await Client.GetAsync("/v1/repositories/ns/re%01po/tags").ReadAsync()).Should().Be((400, "{\"error\": \"Invalid repository name\"}"));
        (await Client.GetAsync("/v1/repositories/ns/re%FFpo/tags").ReadAsync()).Should().Be((400, "{\"error\": \"Invalid repository name\"}"));
        (await Client.GetAsync("/v1/repositories//repo/tags").ReadAsync()).Should().Be((400, "{\"error\": \"Invalid repository name\"}"));
    }

    [Test]
    public async Task Oversized_json_body_answers_413()
    {
        var huge = new StringContent("\"" + new string('a', 11 * 1024 * 1024) + "\"");
        (await Client.PutAsync("/v1/repositories/ns/repo/tags/latest", huge).ReadAsync()).Should().Be((413, "{\"error\": \"Request body too large\"}"));
    }
}
