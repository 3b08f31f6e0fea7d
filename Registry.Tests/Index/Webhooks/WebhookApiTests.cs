using System.Net;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Webhooks;

/// <summary>
/// <c>/v1/repositories/&lt;ns&gt;/&lt;repo&gt;/webhooks</c> through HTTP against the real app with htpasswd auth
/// (docs/operating.md, 'Repository webhooks'): only the repository's writers (its namespace's user, admins) see or
/// change its webhooks.
/// </summary>
[TestFixture]
public sealed class WebhookApiTests
{
    private TestRegistry _registry = null!;

    [SetUp]
    public void SetUp() => _registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw", "bob:bob-pw", "root:root-pw"],
        new Dictionary<string, string> { ["REGISTRY_AUTH_ADMINS"] = "root" });

    [TearDown]
    public async Task TearDownAsync() => await _registry.DisposeAsync();

    [Test]
    public async Task The_owner_registers_lists_and_removes_webhooks()
    {
        var first = await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/webhooks", "alice", "{\"url\": \"http://ci.example.test/hook?t=1\"}");
        first.Should().Be((HttpStatusCode.Created, "{\"id\": 1, \"url\": \"http://ci.example.test/hook?t=1\"}"));
        (await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/webhooks", "root", "{\"url\": \"https://other.example.test/\"}"))
            .Should().Be((HttpStatusCode.Created, "{\"id\": 2, \"url\": \"https://other.example.test/\"}"));

        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app/webhooks", "alice")).Should().Be((HttpStatusCode.OK,
            "[{\"id\": 1, \"url\": \"http://ci.example.test/hook?t=1\"}, {\"id\": 2, \"url\": \"https://other.example.test/\"}]"));
        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/other/webhooks", "alice")).Should().Be((HttpStatusCode.OK, "[]"));

        (await SendAsync(HttpMethod.Delete, "/v1/repositories/alice/app/webhooks/1", "alice")).Should().Be((HttpStatusCode.NoContent, ""));
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/alice/app/webhooks/1", "alice"))
            .Should().Be((HttpStatusCode.NotFound, "{\"error\": \"Webhook not found\"}"));
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/alice/other/webhooks/2", "alice"))
            .Should().Be((HttpStatusCode.NotFound, "{\"error\": \"Webhook not found\"}"), "a webhook is removed only through its own repository");
        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app/webhooks", "root"))
            .Should().Be((HttpStatusCode.OK, "[{\"id\": 2, \"url\": \"https://other.example.test/\"}]"));
    }

    [Test]
    public async Task Others_get_403_and_anonymous_clients_401()
    {
        (await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/webhooks", "bob", "{\"url\": \"http://evil.example.test/\"}"))
            .Should().Be((HttpStatusCode.Forbidden, "{\"error\": \"Access denied\"}"));
        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app/webhooks", "bob"))
            .Should().Be((HttpStatusCode.Forbidden, "{\"error\": \"Access denied\"}"), "the URLs may carry secrets");
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/alice/app/webhooks/1", "bob"))
            .Should().Be((HttpStatusCode.Forbidden, "{\"error\": \"Access denied\"}"));

        using var anonymous = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/alice/app/webhooks");
        using var response = await _registry.Client.SendAsync(anonymous);
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().Be("Basic realm=\"Test Realm\"");
    }

    [TestCase("{\"url\": \"ftp://x\"}", "url must be an absolute http or https URL")]
    [TestCase("{\"url\": \"/relative\"}", "url must be an absolute http or https URL")]
    [TestCase("{\"url\": \"file:///etc/passwd\"}", "url must be an absolute http or https URL")]
    [TestCase("{\"url\": 5}", "Error Decoding JSON: expected {\\\"url\\\": \\\"http(s)://...\\\"}")]
    [TestCase("not json", "Error Decoding JSON: expected {\\\"url\\\": \\\"http(s)://...\\\"}")]
    public async Task Bad_urls_are_400_in_the_v1_error_body(string body, string error)
    {
        (await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/webhooks", "alice", body))
            .Should().Be((HttpStatusCode.BadRequest, $"{{\"error\": \"{error}\"}}"));
        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app/webhooks", "alice")).Should().Be((HttpStatusCode.OK, "[]"));
    }

    [Test]
    public async Task A_url_over_2048_characters_is_400()
    {
        var url = "http://ci.example.test/" + new string('a', 2049 - "http://ci.example.test/".Length);
        (await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/webhooks", "alice", $"{{\"url\": \"{url}\"}}"))
            .Should().Be((HttpStatusCode.BadRequest, "{\"error\": \"url is longer than 2048 characters\"}"));
        (await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/webhooks", "alice", $"{{\"url\": \"{url[..^1]}\"}}"))
            .Status.Should().Be(HttpStatusCode.Created);
    }

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, string user, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = TestRegistry.Basic(user, user + "-pw");
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await _registry.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
