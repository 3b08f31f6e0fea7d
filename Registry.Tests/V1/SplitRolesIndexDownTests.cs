using System.Diagnostics;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V1;

/// <summary>
/// A registry without accounts of its own (<c>standalone: false</c>, auth off) whose index goes away: tokens it
/// confirmed within <c>index_token_cache_ttl</c> (8 s here) still serve, others are 503 with the V1 error body
/// until the index is back, never 401 (the token may be good) nor 500.
/// </summary>
[NonParallelizable]
public class SplitRolesIndexDownTests
{
    private const int CacheSeconds = 8;
    private const string Unavailable = "{\"error\": \"The index that confirms tokens is unavailable, retry later\"}";

    [Test]
    public async Task Confirmed_tokens_serve_for_the_cache_lifetime_then_the_registry_answers_503()
    {
        var registryPort = FreePort.Next();
        await using var index = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_ROLE"] = "index",
            ["REGISTRY_ENDPOINTS"] = $"127.0.0.1:{registryPort}",
        });
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_ROLE"] = "registry",
            ["STANDALONE"] = "false",
            ["INDEX_ENDPOINT"] = index.BaseAddress.ToString(),
            ["INDEX_TOKEN_CACHE_TTL"] = CacheSeconds.ToString(),
        }, registryPort);

        var image = V1Client.NewImageId();
        var write = await TokenAsync(index, HttpMethod.Put, "/v1/repositories/team/app/", $"[{{\"id\":\"{image}\"}}]");
        var read = await TokenAsync(index, HttpMethod.Get, "/v1/repositories/team/app/images", null);
        using var writer = WithToken(registry, write);
        // Started before the registry first confirms the write token: the cache entry is no older than this.
        var confirmed = Stopwatch.StartNew();
        await writer.PushImageAsync(image, TarBuilder.GzipTar(("./x", "x")));
        (await writer.PutTagAsync("team/app", "latest", image).ReadAsync()).Should().Be((200, "true"));

        await index.KillAsync();

        // Confirmed while the index was up, within the cache lifetime: served.
        (await writer.GetAsync("/v1/repositories/team/app/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{image}\"}}"));
        confirmed.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(CacheSeconds), "the cached confirmation is what served the request");
        // Never confirmed: the registry cannot tell, so retry later.
        using var reader = WithToken(registry, read);
        (await reader.GetAsync("/v1/repositories/team/app/tags").ReadAsync()).Should().Be((503, Unavailable));

        await Task.Delay(TimeSpan.FromSeconds(CacheSeconds) - confirmed.Elapsed + TimeSpan.FromMilliseconds(300));
        (await writer.GetAsync("/v1/repositories/team/app/tags").ReadAsync()).Should().Be((503, Unavailable));
        (await writer.GetAsync($"/v1/images/{image}/json").ReadAsync()).Should().Be((503, Unavailable));
    }

    private static async Task<string> TokenAsync(RegistryProcess index, HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        request.Headers.Add("X-Docker-Token", "true");
        using var response = await index.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(200, await response.Content.ReadAsStringAsync());
        return response.Header("X-Docker-Token")!;
    }

    private static HttpClient WithToken(RegistryProcess registry, string token)
    {
        var client = new HttpClient { BaseAddress = registry.BaseAddress };
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Token " + token);
        return client;
    }
}
