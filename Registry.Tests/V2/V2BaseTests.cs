using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;
using Registry.V2.Routing;

namespace Registry.Tests.V2;

public class V2BaseTests
{
    [TestCase("/v2/")]
    [TestCase("/v2")]
    public async Task Base_answers_an_empty_object_with_the_api_version(string path)
    {
        await using var registry = TestRegistry.Start();
        using var response = await registry.Client.GetAsync(path);

        ((int)response.StatusCode).Should().Be(200);
        (await response.Content.ReadAsStringAsync()).Should().Be("{}");
        response.Header("Content-Type").Should().Be("application/json");
        response.Content.Headers.ContentLength.Should().Be(2);
        response.Header("Docker-Distribution-API-Version").Should().Be("registry/2.0");
    }

    [Test]
    public async Task Head_of_base_has_the_headers_and_no_body()
    {
        await using var registry = TestRegistry.Start();
        using var response = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v2/"));
        ((int)response.StatusCode).Should().Be(200);
        response.Header("Docker-Distribution-API-Version").Should().Be("registry/2.0");
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [TestCase("/v2/foo/bar/nothing")]
    [TestCase("/v2/foo/bar/blobs")]
    [TestCase("/v2/foo/")]
    public async Task An_unknown_path_is_404_unsupported_in_the_envelope(string path)
    {
        await using var registry = TestRegistry.Start();
        using var response = await registry.Client.GetAsync(path);
        ((int)response.StatusCode).Should().Be(404);
        response.Header("Content-Type").Should().Be("application/json");
        response.Header("Docker-Distribution-API-Version").Should().Be("registry/2.0");
        (await response.Content.ReadAsStringAsync()).Should().Be("{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"endpoint not found\"}]}");
    }

    [Test]
    public async Task A_wrong_method_is_405_with_allow()
    {
        await using var registry = TestRegistry.Start();
        using var response = await registry.Client.PostAsync("/v2/", new ByteArrayContent([]));
        ((int)response.StatusCode).Should().Be(405);
        response.Content.Headers.Allow.Should().Equal("GET", "HEAD");
        (await response.Content.ReadAsStringAsync()).Should().Be("{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"The operation is unsupported.\"}]}");
    }

    [TestCase("/v2/Foo/tags/list", "Foo")]
    [TestCase("/v2/foo%2Fbar/tags/list", "foo%2Fbar")]
    [TestCase("/v2/_foo/tags/list", "_foo")]
    [TestCase("/v2/foo--/tags/list", "foo--")]
    [TestCase("/v2/a//b/tags/list", "a//b")]
    public async Task A_name_outside_the_grammar_is_400_name_invalid(string path, string name)
    {
        await using var registry = TestRegistry.Start();
        using var response = await registry.Client.GetAsync(path);
        ((int)response.StatusCode).Should().Be(400);
        (await response.Content.ReadAsStringAsync()).Should().Be(
            $"{{\"errors\":[{{\"code\":\"NAME_INVALID\",\"message\":\"invalid repository name\",\"detail\":\"{name}\"}}]}}");
    }

    [Test]
    public async Task A_name_longer_than_255_characters_is_name_invalid()
    {
        await using var registry = TestRegistry.Start();
        var name = string.Join("/", Enumerable.Repeat("abcdefghijklmno", 17));
        using var response = await registry.Client.GetAsync($"/v2/{name}/tags/list");
        ((int)response.StatusCode).Should().Be(400);
        (await response.Content.ReadAsStringAsync()).Should().Contain("NAME_INVALID");
    }

    [Test]
    public async Task Read_only_mode_refuses_writes_and_serves_reads()
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED"] = "true" });
        using var put = await registry.Client.PutAsync("/v2/foo/manifests/latest", new ByteArrayContent([]));
        ((int)put.StatusCode).Should().Be(405);
        (await put.Content.ReadAsStringAsync()).Should().Be("{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"registry is in read-only mode\"}]}");
        using var get = await registry.Client.GetAsync("/v2/foo/manifests/latest");
        ((int)get.StatusCode).Should().Be(404);
    }

    [TestCase("/v2/", "GET", V2RouteKind.Base, "", "")]
    [TestCase("/v2/_catalog", "GET", V2RouteKind.Catalog, "", "")]
    [TestCase("/v2/a/blobs/b/tags/list/", "GET", V2RouteKind.Tags, "a/blobs/b", "")]
    [TestCase("/v2/a/blobs/b/blobs/sha256:00", "GET", V2RouteKind.Blob, "a/blobs/b", "sha256:00")]
    [TestCase("/v2/a/manifests/manifests/latest", "GET", V2RouteKind.Manifest, "a/manifests", "latest")]
    [TestCase("/v2/x/blobs/uploads/blobs/uploads/", "POST", V2RouteKind.UploadStart, "x/blobs/uploads", "")]
    [TestCase("/v2/x/blobs/uploads", "POST", V2RouteKind.UploadStart, "x", "")]
    [TestCase("/v2/x/blobs/uploads/blobs/uploads/u-1", "PATCH", V2RouteKind.Upload, "x/blobs/uploads", "u-1")]
    [TestCase("/v2/x/y/referrers/sha256:00", "GET", V2RouteKind.Referrers, "x/y", "sha256:00")]
    public void Routes_match_their_suffix_from_the_right(string path, string method, V2RouteKind kind, string name, string reference)
    {
        V2Route.Parse(path).Should().Be(new V2Route(kind, name, reference));
    }

    [Test]
    public async Task With_htpasswd_the_base_challenges_anonymous_callers_and_accepts_users()
    {
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:secret"]);

        using (var anonymous = await registry.Client.GetAsync("/v2/"))
        {
            ((int)anonymous.StatusCode).Should().Be(401);
            anonymous.Headers.WwwAuthenticate.ToString().Should().Be("Basic realm=\"Test Realm\"");
            anonymous.Header("Docker-Distribution-API-Version").Should().Be("registry/2.0");
            (await anonymous.Content.ReadAsStringAsync()).Should().Be("{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\",\"detail\":null}]}");
        }

        var wrong = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { Authorization = TestRegistry.Basic("alice", "nope") } };
        using (var response = await registry.Client.SendAsync(wrong)) ((int)response.StatusCode).Should().Be(401);

        var right = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { Authorization = TestRegistry.Basic("alice", "secret") } };
        using (var response = await registry.Client.SendAsync(right))
        {
            ((int)response.StatusCode).Should().Be(200);
            (await response.Content.ReadAsStringAsync()).Should().Be("{}");
        }

        var push = new HttpRequestMessage(HttpMethod.Post, "/v2/bob/app/blobs/uploads/") { Content = new ByteArrayContent([]) };
        using (var response = await registry.Client.SendAsync(push))
        {
            ((int)response.StatusCode).Should().Be(401);
            (await response.Content.ReadAsStringAsync()).Should().Be(
                "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\",\"detail\":[" +
                "{\"Type\":\"repository\",\"Class\":\"\",\"Name\":\"bob/app\",\"Action\":\"pull\"}," +
                "{\"Type\":\"repository\",\"Class\":\"\",\"Name\":\"bob/app\",\"Action\":\"push\"}]}]}");
        }

        var foreign = new HttpRequestMessage(HttpMethod.Post, "/v2/bob/app/blobs/uploads/")
        {
            Content = new ByteArrayContent([]),
            Headers = { Authorization = TestRegistry.Basic("alice", "secret") },
        };
        using (var response = await registry.Client.SendAsync(foreign))
        {
            ((int)response.StatusCode).Should().Be(403);
            (await response.Content.ReadAsStringAsync()).Should().Be("{\"errors\":[{\"code\":\"DENIED\",\"message\":\"requested access to the resource is denied\"}]}");
        }
    }
}
