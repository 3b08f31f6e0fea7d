using System.Net.Sockets;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Tests.Support;

namespace Registry.Tests.V2.Proxy;

/// <summary>
/// The pull-through cache when the upstream is down, refuses us, or is hammered (docs/configuration.md, 'Mirror'):
/// cached content keeps being served, misses are 503/502 with the v2 error body naming the upstream, sixteen
/// clients of one uncached blob share one upstream GET, and an upstream with htpasswd is mirrored with credentials.
/// </summary>
public class UpstreamFailureTests
{
    [Test]
    public async Task With_the_upstream_stopped_cached_content_and_local_pushes_are_served_and_misses_are_503()
    {
        await using var upstream = await GoRegistry.StartAsync();
        using var upstreamClient = new HttpClient { BaseAddress = upstream.BaseAddress };
        var cached = await GoRegistry.PushImageAsync(upstreamClient, "library/hello", "latest", V1Client.RandomBytes(2000));
        var uncached = await GoRegistry.PushImageAsync(upstreamClient, "library/other", "latest", V1Client.RandomBytes(2000));
        await using var mirror = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_PROXY_REMOTEURL"] = upstream.Url,
            ["REGISTRY_PROXY_TTL"] = "0",
        });
        using (var warm = await mirror.Client.GetAsync("/v2/library/hello/manifests/latest")) ((int)warm.StatusCode).Should().Be(200);
        using (var warm = await mirror.Client.GetAsync($"/v2/library/hello/blobs/{cached.Layers[0].Digest}")) ((int)warm.StatusCode).Should().Be(200);
        var local = await V2Seed.PushImageAsync(mirror, "team/local", "v1");

        await upstream.StopAsync();

        // ttl 0 asks the upstream on every pull; it does not answer, so the cached manifest is served.
        using var manifest = await mirror.Client.GetAsync("/v2/library/hello/manifests/latest");
        ((int)manifest.StatusCode).Should().Be(200);
        manifest.Header("Docker-Content-Digest").Should().Be(cached.Manifest.Digest.ToString());
        (await manifest.Content.ReadAsByteArrayAsync()).Should().Equal(cached.Manifest.Bytes);
        using var blob = await mirror.Client.GetAsync($"/v2/library/hello/blobs/{cached.Layers[0].Digest}");
        (await blob.Content.ReadAsByteArrayAsync()).Should().Equal(cached.Layers[0].Content);
        using var pushed = await mirror.Client.GetAsync("/v2/team/local/manifests/v1");
        ((int)pushed.StatusCode).Should().Be(200);
        (await pushed.Content.ReadAsByteArrayAsync()).Should().Equal(local.Bytes);

        var unreachable = $"{{\"errors\":[{{\"code\":\"UNAVAILABLE\",\"message\":\"upstream registry {upstream.Url} is unreachable: Connection refused\"}}]}}";
        using var missing = await mirror.Client.GetAsync("/v2/library/other/manifests/latest");
        ((int)missing.StatusCode).Should().Be(503);
        missing.Header("Retry-After").Should().Be("10");
        missing.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        (await missing.Content.ReadAsStringAsync()).Should().Be(unreachable);

        using var missingBlob = await mirror.Client.GetAsync($"/v2/library/other/blobs/{uncached.Layers[0].Digest}");
        ((int)missingBlob.StatusCode).Should().Be(503);
        (await missingBlob.Content.ReadAsStringAsync()).Should().Be(unreachable);
        // HEAD asks the upstream only in a repository holding fetched content; elsewhere it is the 404 a push needs.
        using var missingHead = await mirror.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/library/hello/blobs/{cached.Config.Digest}"));
        ((int)missingHead.StatusCode).Should().Be(503);
        missingHead.Header("Retry-After").Should().Be("10");
        (await missingHead.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        using var newRepositoryHead = await mirror.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/library/other/blobs/{uncached.Layers[0].Digest}"));
        ((int)newRepositoryHead.StatusCode).Should().Be(404);

        // Nothing half-fetched was left in storage.
        Directory.Exists(Path.Combine(mirror.StorageRoot, "docker/registry/v2/repositories/library/other")).Should().BeFalse();
    }

    [Test]
    public async Task A_blob_whose_upstream_bytes_do_not_verify_cuts_the_client_off_and_publishes_nothing()
    {
        await using var upstream = await GoRegistry.StartAsync();
        using var upstreamClient = new HttpClient { BaseAddress = upstream.BaseAddress };
        var content = V1Client.RandomBytes(3 * 1024 * 1024);
        var digest = await GoRegistry.PushBlobAsync(upstreamClient, "team/corrupt", content);
        // The Go registry serves its file as it is: one flipped byte, the same length.
        var data = Path.Combine(upstream.Directory, "storage/docker/registry/v2/blobs/sha256", digest.Hex[..2], digest.Hex, "data");
        var bytes = await File.ReadAllBytesAsync(data);
        bytes[1_000_000] ^= 0xff;
        await File.WriteAllBytesAsync(data, bytes);
        await using var mirror = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["REGISTRY_PROXY_REMOTEURL"] = upstream.Url });

        for (var attempt = 1; attempt <= 2; attempt++)
        {
            // A connection of its own each time, as a client's retry after a cut-off download opens one.
            using var client = new HttpClient { BaseAddress = mirror.BaseAddress };
            HttpResponseMessage response;
            try
            {
                response = await client.GetAsync($"/v2/team/corrupt/blobs/{digest}", HttpCompletionOption.ResponseHeadersRead);
            }
            catch (HttpRequestException e) when (e.InnerException is IOException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionReset } })
            {
                // The cut-off's reset came before this client read the headers the mirror had sent (a loaded machine):
                // the kernel drops what was received but unread, so the client was cut off before any byte.
                upstream.Count("GET", $"/v2/team/corrupt/blobs/{digest}").Should().Be(attempt);
                continue;
            }
            using (response)
            {
                ((int)response.StatusCode).Should().Be(200);
                response.Content.Headers.ContentLength.Should().Be(content.Length);
                var read = async () => await response.Content.ReadAsByteArrayAsync();
                await read.Should().ThrowAsync<HttpRequestException>();
            }
            upstream.Count("GET", $"/v2/team/corrupt/blobs/{digest}").Should().Be(attempt);
        }
        File.Exists(Path.Combine(mirror.StoragePath, "docker/registry/v2/blobs/sha256", digest.Hex[..2], digest.Hex, "data")).Should().BeFalse();
        Directory.EnumerateFiles(Path.Combine(mirror.StoragePath, "docker/registry/v2/repositories/team/corrupt"), "*", SearchOption.AllDirectories)
            .Should().BeEmpty();
    }

    [Test]
    public async Task Sixteen_clients_of_one_uncached_64_MiB_blob_get_intact_bytes_from_one_upstream_get()
    {
        await using var upstream = await GoRegistry.StartAsync();
        using var upstreamClient = new HttpClient { BaseAddress = upstream.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        var content = V1Client.RandomBytes(64 * 1024 * 1024);
        var digest = await GoRegistry.PushBlobAsync(upstreamClient, "big/blob", content);
        var expected = SHA256.HashData(content);
        await using var mirror = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["REGISTRY_PROXY_REMOTEURL"] = upstream.Url });
        using var client = new HttpClient { BaseAddress = mirror.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        mirror.Output.Should().Contain($"v2 pull-through cache: * -> {upstream.Url} (ttl 168h)");

        var pulls = Enumerable.Range(0, 16).Select(async _ =>
        {
            using var response = await client.GetAsync($"/v2/big/blob/blobs/{digest}", HttpCompletionOption.ResponseHeadersRead);
            ((int)response.StatusCode).Should().Be(200);
            response.Content.Headers.ContentLength.Should().Be(content.Length);
            response.Header("Docker-Content-Digest").Should().Be(digest.ToString());
            await using var body = await response.Content.ReadAsStreamAsync();
            return await SHA256.HashDataAsync(body);
        }).ToList();
        foreach (var hash in await Task.WhenAll(pulls)) hash.Should().Equal(expected);

        upstream.Count("GET", $"/v2/big/blob/blobs/{digest}").Should().Be(1);
        using var again = await client.GetAsync($"/v2/big/blob/blobs/{digest}");
        SHA256.HashData(await again.Content.ReadAsByteArrayAsync()).Should().Equal(expected);
        upstream.Count("GET", $"/v2/big/blob/blobs/{digest}").Should().Be(1);
    }

    [Test]
    public async Task An_upstream_with_htpasswd_is_mirrored_with_the_configured_credentials_and_a_refusal_is_502()
    {
        await using var protectedUpstream = await ProtectedUpstream.StartAsync();
        var upstream = protectedUpstream.Process;
        using var upstreamClient = new HttpClient { BaseAddress = upstream.BaseAddress };
        upstreamClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("mirror:m1rror-pass")));
        var image = await GoRegistry.PushImageAsync(upstreamClient, "mirror/app", "v2", V1Client.RandomBytes(4000));
        var upstreamUrl = $"http://127.0.0.1:{upstream.Port}";

        await using (var mirror = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_PROXY_REMOTEURL"] = upstreamUrl,
            ["REGISTRY_PROXY_USERNAME"] = "mirror",
            ["REGISTRY_PROXY_PASSWORD"] = "m1rror-pass",
        }))
        {
            using var manifest = await mirror.Client.GetAsync("/v2/mirror/app/manifests/v2");
            ((int)manifest.StatusCode).Should().Be(200, await manifest.Content.ReadAsStringAsync());
            (await manifest.Content.ReadAsByteArrayAsync()).Should().Equal(image.Manifest.Bytes);
            using var layer = await mirror.Client.GetAsync($"/v2/mirror/app/blobs/{image.Layers[0].Digest}");
            (await layer.Content.ReadAsByteArrayAsync()).Should().Equal(image.Layers[0].Content);
        }

        await using (var refused = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_PROXY_REMOTEURL"] = upstreamUrl,
            ["REGISTRY_PROXY_USERNAME"] = "mirror",
            ["REGISTRY_PROXY_PASSWORD"] = "wrong-pass",
        }))
        {
            using var manifest = await refused.Client.GetAsync("/v2/mirror/app/manifests/v2");
            ((int)manifest.StatusCode).Should().Be(502);
            manifest.Header("Retry-After").Should().BeNull();
            var body = await manifest.Content.ReadAsStringAsync();
            body.Should().Be($"{{\"errors\":[{{\"code\":\"UNAVAILABLE\",\"message\":\"upstream registry {upstreamUrl} refused the configured credentials (401 Unauthorized)\"}}]}}");
            body.Should().NotContain("wrong-pass");
            using var blob = await refused.Client.GetAsync($"/v2/mirror/app/blobs/{image.Layers[0].Digest}");
            ((int)blob.StatusCode).Should().Be(502);
        }
    }
}
