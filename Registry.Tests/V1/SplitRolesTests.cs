using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.V1;

/// <summary>
/// The original docker-registry's split (docs/configuration.md, 'Split index and registry'): an index-only process
/// with accounts hands out tokens and <c>X-Docker-Endpoints</c> naming a registry-only process, which confirms each
/// token with the index. The registry has accounts and a secret_key of its own, so the index's tokens are foreign
/// to it; it also trusts requests the index signs with the key pair made here (<c>privileged_key</c>).
/// </summary>
[NonParallelizable]
public class SplitRolesTests
{
    private const string UserAgent = "docker/1.6.2 go/go1.4.2 git-commit/7c8fca2 kernel/4.9.0 os/linux arch/amd64";
    private static readonly AuthenticationHeaderValue Alice = new("Basic", Convert.ToBase64String("alice:wonderland"u8.ToArray()));

    private string _root = null!;
    private RSA _indexKey = null!;
    private RegistryProcess _index = null!;
    private RegistryProcess _registry = null!;

    [OneTimeSetUp]
    public async Task SetUpAsync()
    {
        _root = Directory.CreateTempSubdirectory("registry-split-").FullName;
        var indexUsers = Path.Combine(_root, "index.htpasswd");
        await File.WriteAllLinesAsync(indexUsers, [HtpasswdFile.Line("alice", "wonderland")]);
        var registryUsers = Path.Combine(_root, "registry.htpasswd");
        await File.WriteAllLinesAsync(registryUsers, [HtpasswdFile.Line("bob", "builder")]);
        _indexKey = RSA.Create(2048);
        var publicKey = Path.Combine(_root, "index.pub");
        // The original's privileged_key is PKCS#1 ("BEGIN RSA PUBLIC KEY").
        await File.WriteAllTextAsync(publicKey, _indexKey.ExportRSAPublicKeyPem());

        var registryPort = FreePort.Next();
        _index = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_ROLE"] = "index",
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = indexUsers,
            ["SECRET_KEY"] = "the index's own secret",
            ["REGISTRY_ENDPOINTS"] = $"127.0.0.1:{registryPort}",
        });
        _registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_ROLE"] = "registry",
            ["STANDALONE"] = "false",
            ["INDEX_ENDPOINT"] = _index.BaseAddress.ToString(),
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = registryUsers,
            ["SECRET_KEY"] = "another secret",
            ["PRIVILEGED_KEY"] = publicKey,
        }, registryPort);
        foreach (var process in new[] { _index, _registry })
            process.Client.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", UserAgent);
    }

    [OneTimeTearDown]
    public async Task TearDownAsync()
    {
        await _registry.DisposeAsync();
        await _index.DisposeAsync();
        _indexKey.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task Docker_1x_push_and_pull_go_to_the_index_for_tokens_and_to_the_registry_for_images()
    {
        var (a, b) = (V1Client.NewImageId(), V1Client.NewImageId());
        var (layerA, layerB) = (TarBuilder.GzipTar(("./a", "a")), TarBuilder.GzipTar(("./b", "b")));

        var (write, endpoints) = await IndexTokenAsync(HttpMethod.Put, "/v1/repositories/alice/app/", $"[{{\"id\":\"{a}\"}},{{\"id\":\"{b}\",\"Tag\":\"latest\"}}]", 200);
        endpoints.Should().Be(_registry.HostAndPort);
        write.Should().Contain("repository=\"alice/app\",access=write");

        using var registry = ClientWithToken(write);
        (await registry.GetAsync($"/v1/images/{a}/json").ReadAsync()).Should().Be((404, "{\"error\": \"Image not found\"}"));
        await registry.PushImageAsync(a, layerA);
        await registry.PushImageAsync(b, layerB, parent: a);
        (await registry.PutTagAsync("alice/app", "latest", b).ReadAsync()).Should().Be((200, "true"));
        (await IndexTokenAsync(HttpMethod.Put, "/v1/repositories/alice/app/images", "[]", 204)).Endpoints.Should().Be(_registry.HostAndPort);

        var (read, pullEndpoints) = await IndexTokenAsync(HttpMethod.Get, "/v1/repositories/alice/app/images", null, 200);
        pullEndpoints.Should().Be(_registry.HostAndPort);
        read.Should().Contain("repository=\"alice/app\",access=read");
        using var pull = ClientWithToken(read);
        (await pull.GetAsync("/v1/repositories/alice/app/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{b}\"}}"));
        (await pull.GetAsync($"/v1/images/{b}/ancestry").ReadAsync()).Should().Be((200, $"[\"{b}\", \"{a}\"]"));
        (await pull.GetByteArrayAsync($"/v1/images/{a}/layer")).Should().Equal(layerA);
        (await pull.GetByteArrayAsync($"/v1/images/{b}/layer")).Should().Equal(layerB);
        (await pull.PutTagAsync("alice/app", "other", b).ReadAsync()).Should().Be((403, "{\"error\": \"Token does not grant write access\"}"));
    }

    [Test]
    public async Task A_token_for_another_repository_reaches_neither_its_routes_nor_its_images()
    {
        var image = V1Client.NewImageId();
        var (write, _) = await IndexTokenAsync(HttpMethod.Put, "/v1/repositories/alice/first/", $"[{{\"id\":\"{image}\"}}]", 200);
        using (var owner = ClientWithToken(write)) await owner.PushImageAsync(image, TarBuilder.GzipTar(("./f", "f")));
        var (other, _) = await IndexTokenAsync(HttpMethod.Put, "/v1/repositories/alice/second/", "[]", 200);

        using var client = ClientWithToken(other);
        (await client.PutTagAsync("alice/first", "latest", image).ReadAsync()).Should().Be((403, "{\"error\": \"Token is for another repository\"}"));
        (await client.GetAsync($"/v1/images/{image}/json").ReadAsync()).Should().Be((403, "{\"error\": \"Image is not part of the token's repository\"}"));
    }

    [Test]
    public async Task The_index_refusing_a_token_is_403_at_the_registry()
    {
        await IndexTokenAsync(HttpMethod.Put, "/v1/repositories/alice/gone/", "[]", 200);
        // Our index confirms only tokens that may read; a delete token asks it for the list and is refused.
        var (delete, _) = await IndexTokenAsync(HttpMethod.Delete, "/v1/repositories/alice/gone/images", null, 204);
        delete.Should().Contain("access=delete");

        using var client = ClientWithToken(delete);
        (await client.DeleteAsync("/v1/repositories/alice/gone/tags/latest").ReadAsync()).Should().Be((403, "{\"error\": \"The index refused the token\"}"));
    }

    [TestCase("Token garbage")]
    [TestCase("Token signature=FORGED,repository=\"alice/app\",access=write")]
    [TestCase("Token signature=x,repository=\"no-namespace\",access=read")]
    public async Task A_token_the_index_does_not_confirm_is_401(string authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/alice/app/tags");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await _registry.Client.SendAsync(request);

        ((int)response.StatusCode).Should().Be(401);
        response.Headers.WwwAuthenticate.ToString().Should().Be("Token");
        (await response.Content.ReadAsStringAsync()).Should().Be("{\"error\": \"Requires authorization\"}");
    }

    [Test]
    public async Task A_request_the_index_signed_passes_and_a_bad_signature_is_401()
    {
        var image = V1Client.NewImageId();
        var (write, _) = await IndexTokenAsync(HttpMethod.Put, "/v1/repositories/alice/signed/", $"[{{\"id\":\"{image}\"}}]", 200);
        using (var owner = ClientWithToken(write))
        {
            await owner.PushImageAsync(image, TarBuilder.GzipTar(("./s", "s")));
            (await owner.PutTagAsync("alice/signed", "v1", image).ReadAsync()).Status.Should().Be(200);
        }

        // The original's check_signature: "METHOD,PATH" then ",Name:Value" for each X-Docker* header in Title-Case, sorted.
        const string path = "/v1/repositories/alice/signed/tags";
        var message = "GET," + path + ",X-Docker-Request:from the index,X-Docker-Token:true";
        var signature = Convert.ToBase64String(_indexKey.SignData(Encoding.UTF8.GetBytes(message), HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1));

        (await SignedGetAsync(path, $"data={signature};key=index")).Should().Be((200, $"{{\"v1\": \"{image}\"}}"));
        using var otherKey = RSA.Create(2048);
        var forged = Convert.ToBase64String(otherKey.SignData(Encoding.UTF8.GetBytes(message), HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1));
        (await SignedGetAsync(path, $"data={forged}")).Should().Be((401, "{\"error\": \"Invalid X-Signature\"}"));
        (await SignedGetAsync(path, "data=not base64!")).Should().Be((401, "{\"error\": \"Invalid X-Signature\"}"));
    }

    [Test]
    public async Task The_index_serves_no_image_routes_and_the_registry_no_index_routes()
    {
        var id = V1Client.NewImageId();
        (await _index.Client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Should().Be((404, "{\"error\": \"Not found\"}"));
        (await _index.Client.PutJsonAsync(id, V1Client.ImageJson(id)).ReadAsync()).Should().Be((404, "{\"error\": \"Not found\"}"));
        (await _index.Client.GetAsync("/v1/repositories/alice/app/tags").ReadAsync()).Should().Be((404, "{\"error\": \"Not found\"}"));

        (await _registry.Client.GetAsync("/v1/users/").ReadAsync()).Should().Be((404, "{\"error\": \"Not found\"}"));
        (await _registry.Client.GetAsync("/v1/search?q=app").ReadAsync()).Should().Be((404, "{\"error\": \"Not found\"}"));
        (await _registry.Client.GetAsync("/v1/repositories/alice/app/images").ReadAsync()).Should().Be((404, "{\"error\": \"Not found\"}"));
        (await _registry.Client.GetAsync("/v1/_ping").ReadAsync()).Status.Should().Be(200);
        (await _index.Client.GetAsync("/v1/_ping").ReadAsync()).Status.Should().Be(200);
    }

    /// <summary>An index request with Basic and <c>X-Docker-Token: true</c>: the token and <c>X-Docker-Endpoints</c> it answers.</summary>
    private async Task<(string Token, string? Endpoints)> IndexTokenAsync(HttpMethod method, string path, string? body, int status)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        request.Headers.Add("X-Docker-Token", "true");
        request.Headers.Authorization = Alice;
        using var response = await _index.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(status, await response.Content.ReadAsStringAsync());
        return (response.Header("X-Docker-Token")!, response.Header("X-Docker-Endpoints"));
    }

    /// <summary>A client of the registry that sends the token as docker 1.x does (<c>Token Token signature=…</c>).</summary>
    private HttpClient ClientWithToken(string token)
    {
        var client = new HttpClient { BaseAddress = _registry.BaseAddress };
        client.DefaultRequestHeaders.TryAddWithoutValidation("User-Agent", UserAgent);
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Token " + token);
        return client;
    }

    private async Task<(int Status, string Body)> SignedGetAsync(string path, string signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        // Lower-case on the wire: the signed text spells names in Title-Case whatever the client sent.
        request.Headers.TryAddWithoutValidation("x-docker-token", "true");
        request.Headers.TryAddWithoutValidation("X-DOCKER-REQUEST", "from the index");
        request.Headers.TryAddWithoutValidation("X-Signature", signature);
        using var response = await _registry.Client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
