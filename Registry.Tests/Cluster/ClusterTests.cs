using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Cluster;

/// <summary>
/// Two registry processes sharing one Ceph RGW bucket, one PostgreSQL index database and one Redis cache, as two hosts behind a
/// load balancer: whatever one instance accepts (V1 and v2 pushes, sign-ups, a repository made private), the
/// other serves, searches and enforces. One cluster for the fixture; each test works in names of its own.
/// </summary>
[TestFixture]
[Category("s3")]
[Category("e2e")]
public sealed class ClusterTests
{
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    private const string RootPassword = "root-pw";
    private const string AlicePassword = "alice-pw";

    private TempDirectory _auth = null!;
    private RegistryCluster _cluster = null!;

    private RegistryProcess A => _cluster[0];

    private RegistryProcess B => _cluster[1];

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _auth = new TempDirectory();
        var htpasswd = _auth.File("htpasswd");
        await File.WriteAllTextAsync(htpasswd, $"{HtpasswdFile.Line("root", RootPassword)}\n{HtpasswdFile.Line("alice", AlicePassword)}\n");
        _cluster = await RegistryCluster.StartAsync(2, redis: true, environment: new Dictionary<string, string?>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_ADMINS"] = "root",
            ["REGISTRY_AUTH_SIGNUP"] = "true",
        });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
        _auth?.Dispose();
    }

    [Test]
    public async Task Cluster_V1_push_to_one_instance_is_pulled_and_searched_on_the_other()
    {
        var repo = $"team/v1app-{Unique()}";
        using var root = Client(A, "root", RootPassword);
        var (a, b) = (V1Client.NewImageId(), V1Client.NewImageId());
        var (layerA, layerB) = (V1Client.RandomBytes(40_000), V1Client.RandomBytes(70_000));

        (await root.PutIndexAsync($"/v1/repositories/{repo}/", $"[{{\"id\":\"{a}\"}},{{\"id\":\"{b}\"}}]").ReadAsync()).Status.Should().Be(200);
        await root.PushImageAsync(a, layerA);
        var jsonB = await root.PushImageAsync(b, layerB, parent: a);
        (await root.PutTagAsync(repo, "latest", b).ReadAsync()).Should().Be((200, "true"));
        (await root.PutIndexAsync($"/v1/repositories/{repo}/images", "[]").ReadAsync()).Status.Should().Be(204);

        var other = B.Client;
        (await other.GetAsync($"/v1/repositories/{repo}/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{b}\"}}"));
        (await other.GetAsync($"/v1/images/{b}/ancestry").ReadAsync()).Should().Be((200, $"[\"{b}\", \"{a}\"]"));
        (await other.GetAsync($"/v1/images/{b}/json").ReadAsync()).Should().Be((200, jsonB));
        (await other.GetByteArrayAsync($"/v1/images/{a}/layer")).Should().Equal(layerA);
        (await other.GetByteArrayAsync($"/v1/images/{b}/layer")).Should().Equal(layerB);
        var term = repo.Split('/')[1];
        (await other.GetAsync($"/v1/search?q={term}").ReadAsync()).Should().Be((200, SearchBody(term, repo)));
    }

    [Test]
    public async Task Cluster_v2_push_to_one_instance_is_pulled_and_searched_on_the_other()
    {
        var repo = $"team/v2app-{Unique()}";
        using var root = Client(A, "root", RootPassword);
        var layer = RandomNumberGenerator.GetBytes(150_000);
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":\"{Unique()}\"}}");
        foreach (var blob in new[] { layer, config })
        {
            using var put = await root.PostAsync($"/v2/{repo}/blobs/uploads/?digest={Sha256(blob)}", new ByteArrayContent(blob));
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
        }
        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\"," +
            $"\"digest\":\"{Sha256(config)}\",\"size\":{config.Length}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\"," +
            $"\"digest\":\"{Sha256(layer)}\",\"size\":{layer.Length}}}]}}");
        var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(OciManifest);
        using (var put = await root.PutAsync($"/v2/{repo}/manifests/1.0", content))
        {
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
            put.Header("Docker-Content-Digest").Should().Be(Sha256(manifest));
        }

        var other = B.Client;
        (await other.GetAsync($"/v2/{repo}/tags/list").ReadAsync()).Should().Be((200, $"{{\"name\":\"{repo}\",\"tags\":[\"1.0\"]}}"));
        var pull = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repo}/manifests/1.0");
        pull.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(OciManifest));
        using (var get = await other.SendAsync(pull))
        {
            ((int)get.StatusCode).Should().Be(200);
            get.Header("Docker-Content-Digest").Should().Be(Sha256(manifest));
            (await get.Content.ReadAsByteArrayAsync()).Should().Equal(manifest);
        }
        (await other.GetByteArrayAsync($"/v2/{repo}/blobs/{Sha256(layer)}")).Should().Equal(layer);
        (await other.GetByteArrayAsync($"/v2/{repo}/blobs/{Sha256(config)}")).Should().Equal(config);
        var term = repo.Split('/')[1];
        (await other.GetAsync($"/v1/search?q={term}").ReadAsync()).Should().Be((200, SearchBody(term, repo)));
    }

    [Test]
    public async Task Cluster_account_signed_up_on_one_instance_logs_in_on_the_other()
    {
        var user = "u" + Unique();
        var signup = $"{{\"username\": \"{user}\", \"password\": \"{user}-pw\", \"email\": \"{user}@example.com\"}}";
        (await A.Client.PostAsync("/v1/users/", new StringContent(signup)).ReadAsync()).Should().Be((201, "\"User Created\""));
        (await B.Client.PostAsync("/v1/users/", new StringContent(signup)).ReadAsync()).Should().Be((400, "\"Username or email already exists\""));

        using (var login = Client(B, user, user + "-pw"))
            (await login.GetAsync("/v1/users/").ReadAsync()).Should().Be((200, "\"OK\""));
        using (var wrong = Client(B, user, "not-the-password"))
            (await wrong.GetAsync("/v1/users/").ReadAsync()).Should().Be((401, "{\"error\": \"Wrong login/password\"}"));

        // The new account writes in its own namespace through the other instance too.
        using var owner = Client(B, user, user + "-pw");
        (await owner.PutIndexAsync($"/v1/repositories/{user}/app/", "[]").ReadAsync()).Status.Should().Be(200);
    }

    [Test]
    public async Task Cluster_repository_made_private_on_one_instance_is_hidden_on_the_other()
    {
        var repo = $"alice/secret-{Unique()}";
        var term = repo.Split('/')[1];
        using var alice = Client(A, "alice", AlicePassword);
        var id = V1Client.NewImageId();
        (await alice.PutIndexAsync($"/v1/repositories/{repo}/", $"[{{\"id\":\"{id}\"}}]").ReadAsync()).Status.Should().Be(200);
        await alice.PushImageAsync(id, V1Client.RandomBytes(5_000));
        (await alice.PutTagAsync(repo, "latest", id).ReadAsync()).Should().Be((200, "true"));
        (await alice.PutIndexAsync($"/v1/repositories/{repo}/images", "[]").ReadAsync()).Status.Should().Be(204);
        (await B.Client.GetAsync($"/v1/search?q={term}").ReadAsync()).Should().Be((200, SearchBody(term, repo)));
        (await B.Client.GetAsync($"/v1/repositories/{repo}/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{id}\"}}"));

        (await alice.PutAsync($"/v1/repositories/{repo}/properties", new StringContent("{\"access\": \"private\"}")).ReadAsync()).Should().Be((200, "true"));

        var anonymous = B.Client;
        (await anonymous.GetAsync($"/v1/repositories/{repo}/properties").ReadAsync()).Status.Should().Be(401);
        (await anonymous.GetAsync($"/v1/search?q={term}").ReadAsync()).Should().Be((200, SearchBody(term)));
        (await anonymous.GetAsync($"/v1/repositories/{repo}/tags").ReadAsync()).Status.Should().Be(401);
        (await anonymous.GetAsync($"/v1/images/{id}/layer").ReadAsync()).Status.Should().Be(401);

        using var aliceOnB = Client(B, "alice", AlicePassword);
        (await aliceOnB.GetAsync($"/v1/repositories/{repo}/properties").ReadAsync()).Should().Be((200, "{\"access\": \"private\"}"));
        (await aliceOnB.GetAsync($"/v1/search?q={term}").ReadAsync()).Should().Be((200, SearchBody(term, repo)));
        (await aliceOnB.GetAsync($"/v1/repositories/{repo}/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{id}\"}}"));
    }

    /// <summary>The /v1/search body (Docker Hub API, 'Search') for one page of repositories with no description or stars.</summary>
    internal static string SearchBody(string query, params string[] names) =>
        $"{{\"num_pages\": 1, \"num_results\": {names.Length}, \"page\": 1, \"page_size\": 25, \"query\": \"{query}\", \"results\": [" +
        string.Join(", ", names.Select(n =>
            $"{{\"description\": \"\", \"is_automated\": false, \"is_official\": {(n.StartsWith("library/", StringComparison.Ordinal) ? "true" : "false")}, " +
            $"\"is_trusted\": false, \"name\": \"{n}\", \"star_count\": 0}}")) + "]}";

    internal static string Unique() => Guid.NewGuid().ToString("N")[..10];

    internal static string Sha256(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>A client of <paramref name="instance"/> sending Basic credentials with every request.</summary>
    internal static HttpClient Client(RegistryProcess instance, string user, string password)
    {
        var client = new HttpClient { BaseAddress = instance.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return client;
    }
}
