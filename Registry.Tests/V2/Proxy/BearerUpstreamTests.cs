using System.Net.Http.Headers;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V2.Proxy;

/// <summary>
/// A Bearer-protected upstream (docker token authentication specification): the Go registry with token auth trusting a
/// minimal token server in the test. The mirror answers the challenge with the configured credentials, reuses the
/// token for its scope, and a token server that refuses the credentials is a 502 naming the upstream.
/// </summary>
public class BearerUpstreamTests
{
    [Test]
    public async Task A_token_protected_upstream_is_mirrored_with_the_configured_credentials()
    {
        var directory = Directory.CreateTempSubdirectory("token-server-").FullName;
        await using var tokens = await TokenServer.StartAsync(directory, "puller", "pull-pass");
        await using var upstream = await GoRegistry.StartAsync(authYaml: tokens.AuthYaml);
        using var pusher = new HttpClient { BaseAddress = upstream.BaseAddress };
        pusher.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Mint("repository:secure/app:pull,push", TimeSpan.FromMinutes(5)));
        var image = await GoRegistry.PushImageAsync(pusher, "secure/app", "v1", V1Client.RandomBytes(5000));
        using (var anonymous = await new HttpClient().GetAsync($"{upstream.Url}/v2/secure/app/manifests/v1"))
        {
            ((int)anonymous.StatusCode).Should().Be(401);
            anonymous.Headers.WwwAuthenticate.ToString().Should().StartWith("Bearer realm=");
        }

        await using (var mirror = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_PROXY_REMOTEURL"] = upstream.Url,
            ["REGISTRY_PROXY_USERNAME"] = "puller",
            ["REGISTRY_PROXY_PASSWORD"] = "pull-pass",
        }))
        {
            using var manifest = await mirror.Client.GetAsync("/v2/secure/app/manifests/v1");
            ((int)manifest.StatusCode).Should().Be(200, await manifest.Content.ReadAsStringAsync());
            (await manifest.Content.ReadAsByteArrayAsync()).Should().Equal(image.Manifest.Bytes);
            foreach (var blob in image.Layers.Prepend(image.Config))
            {
                using var get = await mirror.Client.GetAsync($"/v2/secure/app/blobs/{blob.Digest}");
                ((int)get.StatusCode).Should().Be(200);
                (await get.Content.ReadAsByteArrayAsync()).Should().Equal(blob.Content);
            }
            // One challenge, one token for the repository's pull scope, reused for the blobs.
            tokens.Issued.Should().Be(1);
            // The 401s: the harness's start probe, the anonymous check above, and the mirror's one challenge.
            upstream.Requests.Where(r => r.Status == 401).Select(r => r.Method + " " + r.Path)
                .Should().Equal("GET /v2/", "GET /v2/secure/app/manifests/v1", "GET /v2/secure/app/manifests/v1");
        }

        await using (var refused = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_PROXY_REMOTEURL"] = upstream.Url,
            ["REGISTRY_PROXY_USERNAME"] = "puller",
            ["REGISTRY_PROXY_PASSWORD"] = "wrong",
        }))
        {
            using var manifest = await refused.Client.GetAsync("/v2/secure/app/manifests/v1");
            ((int)manifest.StatusCode).Should().Be(502);
            (await manifest.Content.ReadAsStringAsync()).Should().Be(
                $"{{\"errors\":[{{\"code\":\"UNAVAILABLE\",\"message\":\"upstream registry {upstream.Url} refused the configured credentials (401 Unauthorized)\"}}]}}");
        }
        Directory.Delete(directory, recursive: true);
    }
}
