using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary>
/// CORS through HTTP against the real app with auth on (docs/configuration.md, 'CORS'): a browser UI on another
/// origin (set up as Joxit's docker-registry-ui needs it) gets its preflights answered without credentials and can read
/// every answer, a 401 challenge included; other origins and other paths get nothing.
/// </summary>
[TestFixture]
public sealed class CorsTests
{
    private const string Ui = "http://ui.example.test";

    private TestRegistry _registry = null!;

    [OneTimeSetUp]
    public void Start() =>
        _registry = TestRegistry.StartWithHtpasswd(["alice:secret"], new Dictionary<string, string>
        {
            ["CORS_ORIGINS"] = $"[{Ui}, 'https://.*\\.corp\\.test']",
            ["CORS_METHODS"] = "[HEAD, GET, OPTIONS, DELETE]",
            ["CORS_HEADERS"] = "[Authorization, Accept, Cache-Control]",
            ["CORS_EXPOSE_HEADERS"] = "[Docker-Content-Digest, WWW-Authenticate]",
            ["CORS_SUPPORTS_CREDENTIALS"] = "true",
            ["CORS_MAX_AGE"] = "1728000",
            ["CORS_RESOURCES"] = "['/v2/', '/v1/search']",
        });

    [OneTimeTearDown]
    public async Task StopAsync() => await _registry.DisposeAsync();

    [Test]
    public async Task A_preflight_is_answered_without_credentials_on_an_auth_enabled_server()
    {
        using var response = await _registry.Client.SendAsync(Preflight("/v2/library/app/manifests/latest", Ui, "GET", "authorization, accept, x-unknown"));

        ((int)response.StatusCode).Should().Be(200);
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        response.Content.Headers.ContentLength.Should().Be(0);
        response.Header("Access-Control-Allow-Origin").Should().Be(Ui);
        response.Header("Access-Control-Allow-Credentials").Should().Be("true");
        response.Header("Access-Control-Allow-Methods").Should().Be("HEAD, GET, OPTIONS, DELETE");
        response.Header("Access-Control-Allow-Headers").Should().Be("authorization, accept");
        response.Header("Access-Control-Max-Age").Should().Be("1728000");
        response.Header("Vary").Should().Be("Origin");
        response.Headers.WwwAuthenticate.Should().BeEmpty();
    }

    [Test]
    public async Task The_challenge_and_the_authenticated_answer_carry_the_headers_a_page_needs_to_read_them()
    {
        var anonymous = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { { "Origin", Ui } } };
        using (var response = await _registry.Client.SendAsync(anonymous))
        {
            ((int)response.StatusCode).Should().Be(401);
            response.Headers.WwwAuthenticate.ToString().Should().Be("Basic realm=\"Test Realm\"");
            response.Header("Access-Control-Allow-Origin").Should().Be(Ui);
            response.Header("Access-Control-Allow-Credentials").Should().Be("true");
            response.Header("Access-Control-Expose-Headers").Should().Be("Docker-Content-Digest, WWW-Authenticate");
            response.Header("Vary").Should().Be("Origin");
            (await response.Content.ReadAsStringAsync()).Should().Be("{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\",\"detail\":null}]}");
        }

        var signedIn = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { Authorization = TestRegistry.Basic("alice", "secret") } };
        signedIn.Headers.Add("Origin", "https://registry.corp.test");
        using (var response = await _registry.Client.SendAsync(signedIn))
        {
            ((int)response.StatusCode).Should().Be(200);
            response.Header("Access-Control-Allow-Origin").Should().Be("https://registry.corp.test");
            response.Header("Docker-Distribution-API-Version").Should().Be("registry/2.0");
            (await response.Content.ReadAsStringAsync()).Should().Be("{}");
        }
    }

    [Test]
    public async Task Another_origin_or_a_method_not_allowed_gets_no_cors_headers()
    {
        using (var response = await _registry.Client.SendAsync(Preflight("/v2/", "http://evil.test", "GET", "authorization")))
        {
            ((int)response.StatusCode).Should().Be(200);
            response.Headers.Should().NotContain(h => h.Key.StartsWith("Access-Control-", StringComparison.Ordinal));
        }

        using (var response = await _registry.Client.SendAsync(Preflight("/v2/library/app/blobs/uploads/", Ui, "POST", "")))
        {
            ((int)response.StatusCode).Should().Be(200);
            response.Headers.Should().NotContain(h => h.Key.StartsWith("Access-Control-", StringComparison.Ordinal));
        }

        var get = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { { "Origin", "http://ui.example.test.evil.test" } } };
        using (var response = await _registry.Client.SendAsync(get))
        {
            ((int)response.StatusCode).Should().Be(401);
            response.Headers.Should().NotContain(h => h.Key.StartsWith("Access-Control-", StringComparison.Ordinal));
            response.Headers.Contains("Vary").Should().BeFalse();
        }
    }

    [Test]
    public async Task Paths_outside_the_resources_are_left_to_the_routes()
    {
        using (var response = await _registry.Client.SendAsync(Preflight("/v1/_ping", Ui, "GET", "")))
        {
            ((int)response.StatusCode).Should().Be(405);
            response.Headers.Should().NotContain(h => h.Key.StartsWith("Access-Control-", StringComparison.Ordinal));
        }

        var get = new HttpRequestMessage(HttpMethod.Get, "/v1/_ping") { Headers = { { "Origin", Ui } } };
        using (var response = await _registry.Client.SendAsync(get))
        {
            ((int)response.StatusCode).Should().Be(200);
            response.Headers.Should().NotContain(h => h.Key.StartsWith("Access-Control-", StringComparison.Ordinal));
        }

        var search = new HttpRequestMessage(HttpMethod.Get, "/v1/search?q=nothing") { Headers = { { "Origin", Ui } } };
        using (var response = await _registry.Client.SendAsync(search))
        {
            ((int)response.StatusCode).Should().Be(200);
            response.Header("Access-Control-Allow-Origin").Should().Be(Ui);
        }
    }

    [Test]
    public async Task Without_a_cors_section_nothing_changes()
    {
        await using var plain = TestRegistry.Start();
        using var response = await plain.Client.SendAsync(Preflight("/v2/", Ui, "GET", "authorization"));

        ((int)response.StatusCode).Should().Be(405);
        response.Headers.Should().NotContain(h => h.Key.StartsWith("Access-Control-", StringComparison.Ordinal));
    }

    [Test]
    public async Task A_wildcard_sends_a_star_when_asked_to_and_to_requests_without_an_origin()
    {
        await using var open = TestRegistry.Start(new Dictionary<string, string>
        {
            ["CORS_ORIGINS"] = "'*'",
            ["CORS_SEND_WILDCARD"] = "true",
        });

        var withOrigin = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { { "Origin", Ui } } };
        using (var response = await open.Client.SendAsync(withOrigin))
        {
            response.Header("Access-Control-Allow-Origin").Should().Be("*");
            response.Headers.Contains("Vary").Should().BeFalse();
        }

        using (var response = await open.Client.GetAsync("/v2/"))
        {
            ((int)response.StatusCode).Should().Be(200);
            response.Header("Access-Control-Allow-Origin").Should().Be("*");
        }

        using (var response = await open.Client.SendAsync(Preflight("/v2/", Ui, "PATCH", "Content-Type, X-Anything")))
        {
            ((int)response.StatusCode).Should().Be(200);
            response.Header("Access-Control-Allow-Origin").Should().Be("*");
            response.Header("Access-Control-Allow-Methods").Should().Be("GET, HEAD, POST, OPTIONS, PUT, PATCH, DELETE");
            // The sample's default headers: [Content-Type].
            response.Header("Access-Control-Allow-Headers").Should().Be("Content-Type");
            response.Headers.Contains("Access-Control-Allow-Credentials").Should().BeFalse();
            response.Headers.Contains("Access-Control-Max-Age").Should().BeFalse();
        }
    }

    private static HttpRequestMessage Preflight(string path, string origin, string method, string headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        if (headers.Length > 0) request.Headers.Add("Access-Control-Request-Headers", headers);
        return request;
    }
}
