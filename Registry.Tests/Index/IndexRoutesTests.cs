using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Index;

public class IndexRoutesTests : RegistryTestBase
{
    [TestCase("/v1/repositories/ns/repo/")]
    [TestCase("/v1/repositories/ns/repo")]
    public async Task Put_repository_answers_200_empty_string_with_token_headers(string path)
    {
        using var response = await Client.PutIndexAsync(path, "[{\"id\": \"a\", \"Tag\": \"latest\"}]");
        ((int)response.StatusCode).Should().Be(200);
        (await response.Content.ReadAsStringAsync()).Should().Be("\"\"");
        response.Header("X-Docker-Endpoints").Should().Be("localhost");
        response.Header("X-Docker-Token").Should().MatchRegex("^Token signature=[A-Z0-9]{16},repository=\"ns/repo\",access=write$");
        response.Header("WWW-Authenticate").Should().Be(response.Header("X-Docker-Token"));
        File.ReadAllText(Path.Combine(Registry.StorageRoot, "repositories/ns/repo/_index_images")).Should().Be("[{\"id\": \"a\", \"Tag\": \"latest\"}]");
    }

    [Test]
    public async Task Endpoints_header_echoes_host_and_port_as_addressed()
    {
        var request = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/ns/repo/") { Content = new StringContent("[]") };
        request.Headers.Host = "registry.example:5000";
        request.Headers.Add("X-Docker-Token", "true");
        using var response = await Client.SendAsync(request);
        response.Header("X-Docker-Endpoints").Should().Be("registry.example:5000");
    }

    [Test]
    public async Task Registry_endpoints_setting_wins_over_the_host()
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["REGISTRY_ENDPOINTS"] = "a.example:5000,b.example:5000" });
        using var response = await registry.Client.PutIndexAsync("/v1/repositories/ns/repo/", "[]");
        response.Header("X-Docker-Endpoints").Should().Be("a.example:5000,b.example:5000");
    }

    [Test]
    public async Task Image_lists_merge_keeping_checksummed_entries()
    {
        (await Client.PutIndexAsync("/v1/repositories/ns/repo/", "[{\"id\": \"a\", \"Tag\": \"latest\"}, {\"id\": \"b\"}]").ReadAsync()).Status.Should().Be(200);
        using (var final = await Client.PutIndexAsync("/v1/repositories/ns/repo/images", "[{\"id\": \"b\", \"checksum\": \"sha256:bb\"}]"))
        {
            ((int)final.StatusCode).Should().Be(204);
            (await final.Content.ReadAsStringAsync()).Should().BeEmpty();
            final.Header("X-Docker-Token").Should().Contain("access=write");
            final.Header("X-Docker-Endpoints").Should().Be("localhost");
        }
        (await Client.PutIndexAsync("/v1/repositories/ns/repo/images", "[{\"id\": \"b\"}, {\"id\": \"c\"}]").ReadAsync()).Status.Should().Be(204);

        var get = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/ns/repo/images");
        get.Headers.Add("X-Docker-Token", "true");
        using var response = await Client.SendAsync(get);
        ((int)response.StatusCode).Should().Be(200);
        (await response.Content.ReadAsStringAsync()).Should().Be("[{\"checksum\": \"sha256:bb\", \"id\": \"b\"}, {\"id\": \"c\"}, {\"id\": \"a\"}]");
        response.Header("X-Docker-Token").Should().Contain("access=read");
        response.Header("Cache-Control").Should().Be("no-cache");
    }

    [Test]
    public async Task First_image_list_is_returned_byte_for_byte()
    {
        const string raw = "[ {\"id\":\"a\",\"Tag\":\"latest\"} ]";
        await Client.PutIndexAsync("/v1/repositories/ns/repo/", raw);
        (await Client.GetAsync("/v1/repositories/ns/repo/images").ReadAsync()).Should().Be((200, raw));
    }

    [Test]
    public async Task Bad_image_lists_answer_400()
    {
        (await Client.PutIndexAsync("/v1/repositories/ns/repo/", "not json").ReadAsync()).Should().Be((400, "{\"error\": \"Error Decoding JSON\"}"));
        (await Client.PutIndexAsync("/v1/repositories/ns/repo/", "{\"id\": \"a\"}").ReadAsync()).Should().Be((400, "{\"error\": \"Invalid data\"}"));
        (await Client.PutIndexAsync("/v1/repositories/ns/repo/images", "[{\"noid\": 1}]").ReadAsync()).Should().Be((400, "{\"error\": \"Invalid data\"}"));
        (await Client.PutIndexAsync("/v1/repositories/ns/repo/images", "[1]").ReadAsync()).Should().Be((400, "{\"error\": \"Invalid data\"}"));
        Directory.Exists(Path.Combine(Registry.StorageRoot, "repositories/ns/repo")).Should().BeFalse();
    }

    [Test]
    public async Task Missing_image_list_answers_404()
    {
        (await Client.GetAsync("/v1/repositories/ns/none/images").ReadAsync()).Should().Be((404, "{\"error\": \"images not found\"}"));
    }

    [Test]
    public async Task Delete_images_answers_204_with_delete_token()
    {
        using var response = await Client.DeleteAsync("/v1/repositories/ns/repo/images");
        ((int)response.StatusCode).Should().Be(204);
        response.Header("X-Docker-Token").Should().Contain("access=delete");
    }

    [Test]
    public async Task Auth_answers_OK()
    {
        (await Client.PutAsync("/v1/repositories/ns/repo/auth", null).ReadAsync()).Should().Be((200, "\"OK\""));
    }

    [Test]
    public async Task Users_endpoints_behave_as_the_standalone_original()
    {
        (await Client.GetAsync("/v1/users/").ReadAsync()).Should().Be((200, "\"OK\""));
        (await Client.GetAsync("/v1/users").ReadAsync()).Should().Be((200, "\"OK\""));
        var login = new StringContent("{\"username\": \"u\", \"password\": \"p\", \"email\": \"e\", \"auth\": \"\"}", Encoding.UTF8, "application/json");
        (await Client.PostAsync("/v1/users/", login).ReadAsync()).Should().Be((201, "\"User Created\""));
        (await Client.PostAsync("/v1/users", new StringContent("{bad")).ReadAsync()).Should().Be((400, "{\"error\": \"Error Decoding JSON\"}"));
        (await Client.PutAsync("/v1/users/u/", new StringContent("{}")).ReadAsync()).Should().Be((204, ""));
        (await Client.PutAsync("/v1/users/u", new StringContent("{}")).ReadAsync()).Should().Be((204, ""));
    }

    [Test]
    public async Task Index_routes_are_not_mounted_when_not_standalone()
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["STANDALONE"] = "false", ["DISABLE_TOKEN_AUTH"] = "true" });
        (await registry.Client.PutIndexAsync("/v1/repositories/ns/repo/", "[]").ReadAsync()).Status.Should().BeOneOf(404, 405);
        (await registry.Client.GetAsync("/v1/users/").ReadAsync()).Status.Should().Be(404);
        (await registry.Client.GetAsync("/v1/repositories/ns/repo/tags").ReadAsync()).Status.Should().Be(404);
    }

    [Test]
    public async Task Index_backedRegistry_gatesRegistry_routes_with_401()
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["STANDALONE"] = "false" });
        using var response = await registry.Client.GetAsync("/v1/repositories/ns/repo/tags");
        ((int)response.StatusCode).Should().Be(401);
        response.Headers.WwwAuthenticate.ToString().Should().Be("Token");
        (await response.Content.ReadAsStringAsync()).Should().Be("{\"error\": \"Requires authorization\"}");
    }
}
