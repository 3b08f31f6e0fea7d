using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Accounts;

/// <summary>
/// Access tokens for robots through HTTP: the API (own, another user's, admin, anonymous, bad bodies), expiry and
/// revocation as Basic passwords, and V1 and v2 pushes and pulls inside and outside a token's scopes.
/// </summary>
public class AccessTokenApiTests
{
    private static readonly Dictionary<string, string> Passwords = new() { ["alice"] = "alice-pw", ["bob"] = "bob-pw", ["root"] = "root-pw" };

    private TestRegistry _registry = null!;

    [OneTimeSetUp]
    public async Task SetUpAsync()
    {
        var root = Directory.CreateTempSubdirectory("registry-robots-").FullName;
        var htpasswd = Path.Combine(root, "htpasswd");
        await File.WriteAllLinesAsync(htpasswd, Passwords.Select(p => HtpasswdFile.Line(p.Key, p.Value)));
        _registry = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_ADMINS"] = "root",
            ["REGISTRY_AUTH_MAX_FAILED_LOGINS"] = "1000",
        }, root);
    }

    [OneTimeTearDown]
    public async Task TearDownAsync() => await _registry.DisposeAsync();

    private HttpClient As(string? user, string? password = null)
    {
        var client = new HttpClient(_registry.CreateHandler()) { BaseAddress = _registry.Client.BaseAddress };
        if (user is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
                "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password ?? Passwords[user]}")));
        return client;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string Body(string name, string scopes, string? expiresAt = null) =>
        $"{{\"name\": \"{name}\", \"scopes\": {scopes}{(expiresAt is null ? "" : $", \"expires_at\": \"{expiresAt}\"")}}}";

    /// <summary>Creates a token of <paramref name="user"/> and returns its id and secret.</summary>
    private async Task<(string Id, string Secret)> CreateAsync(string user, string name, string scopes, string? expiresAt = null)
    {
        using var client = As(user);
        var (status, body) = await client.PostAsync($"/v1/users/{user}/tokens", Json(Body(name, scopes, expiresAt))).ReadAsync();
        status.Should().Be(201, body);
        var node = JsonNode.Parse(body)!;
        return ((string)node["id"]!, (string)node["token"]!);
    }

    [Test]
    public async Task A_user_creates_lists_and_revokes_their_tokens_and_the_secret_is_shown_once()
    {
        using var alice = As("alice");
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var (status, body) = await alice.PostAsync("/v1/users/alice/tokens",
            Json(Body("ci-create", "[{\"repository\": \"alice/app\", \"actions\": [\"pull\", \"push\", \"pull\"]}, {\"repository\": \"ubuntu\", \"actions\": [\"pull\"]}]",
                "2099-01-31T10:00:00+01:00"))).ReadAsync();

        status.Should().Be(201, body);
        var created = JsonNode.Parse(body)!.AsObject();
        created.Select(p => p.Key).Should().Equal("created_at", "expires_at", "id", "last_used_at", "name", "scopes", "token", "user");
        ((string)created["token"]!).Should().MatchRegex("^rgt_[A-Za-z0-9_-]{43}$");
        ((string)created["user"]!, (string)created["name"]!).Should().Be(("alice", "ci-create"));
        created["scopes"]!.ToJsonString().Should().Be(
            "[{\"actions\":[\"pull\",\"push\"],\"repository\":\"alice/app\"},{\"actions\":[\"pull\"],\"repository\":\"library/ubuntu\"}]");
        ((string)created["expires_at"]!).Should().Be("2099-01-31T09:00:00Z");
        created["last_used_at"].Should().BeNull();
        DateTimeOffset.Parse((string)created["created_at"]!).ToUnixTimeSeconds().Should().BeInRange(before, before + 60);

        var (listStatus, list) = await alice.GetAsync("/v1/users/alice/tokens").ReadAsync();
        listStatus.Should().Be(200);
        var shown = JsonNode.Parse(list)!.AsArray().Single(t => (string)t!["name"]! == "ci-create")!.AsObject();
        shown.ContainsKey("token").Should().BeFalse();
        created.Remove("token");
        shown.ToJsonString().Should().Be(created.ToJsonString());

        (await alice.PostAsync("/v1/users/alice/tokens", Json(Body("ci-create", "[{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}]"))).ReadAsync())
            .Should().Be((409, "{\"error\": \"An access token with that name already exists\"}"));
        var id = (string)shown["id"]!;
        (await alice.DeleteAsync($"/v1/users/alice/tokens/{id}").ReadAsync()).Should().Be((204, ""));
        (await alice.DeleteAsync($"/v1/users/alice/tokens/{id}").ReadAsync()).Should().Be((404, "{\"error\": \"Access token not found\"}"));
    }

    [Test]
    public async Task Others_are_refused_admins_list_and_revoke_any_and_anonymous_callers_are_challenged()
    {
        var (id, secret) = await CreateAsync("alice", "ci-others", "[{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}]");
        using var bob = As("bob");
        using var root = As("root");
        using var anonymous = As(null);
        using var wrong = As("alice", "nope");
        using var robot = As("alice", secret);
        var create = Body("x", "[{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}]");

        (await bob.GetAsync("/v1/users/alice/tokens").ReadAsync()).Should().Be((403, "{\"error\": \"You may only manage your own access tokens\"}"));
        (await bob.PostAsync("/v1/users/alice/tokens", Json(create)).ReadAsync()).Should().Be((403, "{\"error\": \"You may only manage your own access tokens\"}"));
        (await bob.DeleteAsync($"/v1/users/alice/tokens/{id}").ReadAsync()).Should().Be((403, "{\"error\": \"You may only manage your own access tokens\"}"));
        (await bob.GetAsync("/v1/tokens").ReadAsync()).Should().Be((403, "{\"error\": \"Listing every access token is for admins only\"}"));
        (await root.PostAsync("/v1/users/alice/tokens", Json(create)).ReadAsync()).Should().Be((403, "{\"error\": \"You may only manage your own access tokens\"}"));
        (await robot.GetAsync("/v1/users/alice/tokens").ReadAsync())
            .Should().Be((403, "{\"error\": \"Access tokens cannot manage access tokens; log in with the password\"}"));
        (await robot.PostAsync("/v1/users/alice/tokens", Json(create)).ReadAsync()).Status.Should().Be(403);

        foreach (var (client, message) in new[] { (anonymous, "Authentication required"), (wrong, "Invalid credentials") })
        {
            foreach (var request in new[]
                     {
                         new HttpRequestMessage(HttpMethod.Get, "/v1/users/alice/tokens"),
                         new HttpRequestMessage(HttpMethod.Post, "/v1/users/alice/tokens") { Content = Json(create) },
                         new HttpRequestMessage(HttpMethod.Delete, $"/v1/users/alice/tokens/{id}"),
                         new HttpRequestMessage(HttpMethod.Get, "/v1/tokens"),
                     })
            {
                using var response = await client.SendAsync(request);
                ((int)response.StatusCode, await response.Content.ReadAsStringAsync()).Should().Be((401, $"{{\"error\": \"{message}\"}}"));
                response.Headers.WwwAuthenticate.ToString().Should().Be("Basic realm=\"Registry Realm\"");
            }
        }

        var (allStatus, all) = await root.GetAsync("/v1/tokens").ReadAsync();
        allStatus.Should().Be(200);
        JsonNode.Parse(all)!.AsArray().Select(t => (string)t!["id"]!).Should().Contain(id);
        (await root.GetAsync("/v1/users/alice/tokens").ReadAsync()).Body.Should().Contain($"\"id\": \"{id}\"");
        (await root.DeleteAsync($"/v1/users/alice/tokens/{id}").ReadAsync()).Should().Be((204, ""));
        (await robot.GetAsync("/v1/repositories/alice/app/tags").ReadAsync()).Status.Should().Be(401);
    }

    [TestCase("not json", "Error Decoding JSON")]
    [TestCase("[]", "Error Decoding JSON: expected an object")]
    [TestCase("{\"scopes\": [{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}]}", NameProblem)]
    [TestCase("{\"name\": \"has space\", \"scopes\": [{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}]}", NameProblem)]
    [TestCase("{\"name\": 5, \"scopes\": [{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}]}", NameProblem)]
    [TestCase("{\"name\": \"t\"}", ScopesProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": []}", ScopesProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": {\"repository\": \"alice/*\"}}", ScopesProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": [{\"repository\": \"alice/*\", \"actions\": [\"admin\"]}]}", ScopesProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": [{\"repository\": \"alice/*\", \"actions\": []}]}", ScopesProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": [{\"repository\": \"alice/*\"}]}", ScopesProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": [{\"repository\": \"*\", \"actions\": [\"pull\"]}]}", ScopesProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": [{\"repository\": \"alice/*/x\", \"actions\": [\"pull\"]}]}", ScopesProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": [{\"repository\": \"alice//x\", \"actions\": [\"pull\"]}]}", ScopesProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": [{\"repository\": \"alice/a b\", \"actions\": [\"pull\"]}]}", ScopesProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": [{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}], \"expires_at\": \"2001-01-01T00:00:00Z\"}", ExpiryProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": [{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}], \"expires_at\": \"tomorrow\"}", ExpiryProblem)]
    [TestCase("{\"name\": \"t\", \"scopes\": [{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}], \"expires_at\": 4102444800}", ExpiryProblem)]
    public async Task Bad_bodies_are_400_with_the_problem(string body, string problem)
    {
        using var alice = As("alice");
        (await alice.PostAsync("/v1/users/alice/tokens", Json(body)).ReadAsync())
            .Should().Be((400, "{\"error\": \"" + problem.Replace("\"", "\\\"") + "\"}"));
    }

    private const string NameProblem = "Invalid name (must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$)";
    private const string ScopesProblem =
        "Invalid scopes: expected 1 to 100 of {\"repository\": \"ns/name\" or \"ns/*\", \"actions\": [\"pull\", \"push\", \"delete\"]}";
    private const string ExpiryProblem = "Invalid expires_at: expected a future time such as \"2030-01-31T00:00:00Z\"";

    [Test]
    public async Task An_expired_token_is_refused_and_the_last_use_is_recorded()
    {
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(3);
        var (id, secret) = await CreateAsync("alice", "ci-expiry", "[{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}]", expiresAt.ToString("O"));
        using var robot = As("alice", secret);

        (await robot.GetAsync("/v1/repositories/alice/app/tags").ReadAsync()).Status.Should().BeOneOf(200, 404);
        using var alice = As("alice");
        var listed = JsonNode.Parse((await alice.GetAsync("/v1/users/alice/tokens").ReadAsync()).Body)!.AsArray().Single(t => (string)t!["id"]! == id)!;
        ((string?)listed["last_used_at"]).Should().NotBeNull();

        var wait = expiresAt.AddSeconds(1.1) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        using var response = await robot.GetAsync("/v1/repositories/alice/app/tags");
        ((int)response.StatusCode, await response.Content.ReadAsStringAsync()).Should().Be((401, "{\"error\": \"Invalid credentials\"}"));
    }

    [Test]
    public async Task A_token_is_for_its_owner_only_and_a_wrong_secret_is_401()
    {
        var (_, secret) = await CreateAsync("alice", "ci-owner", "[{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}]");
        using var asBob = As("bob", secret);
        using var mangled = As("alice", secret[..^2] + (secret.EndsWith("AA") ? "BB" : "AA"));
        using var noPrefix = As("alice", secret[4..]);

        foreach (var client in new[] { asBob, mangled, noPrefix })
            (await client.GetAsync("/v1/users/").ReadAsync()).Should().Be((401, "{\"error\": \"Wrong login/password\"}"));
    }

    [Test]
    public async Task V1_push_and_pull_within_the_scopes_and_403_outside_them()
    {
        var (_, pusher) = await CreateAsync("alice", "ci-v1-push", "[{\"repository\": \"alice/robotapp\", \"actions\": [\"pull\", \"push\"]}, {\"repository\": \"bob/*\", \"actions\": [\"push\"]}]");
        var (_, puller) = await CreateAsync("alice", "ci-v1-pull", "[{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}]");
        using var robot = As("alice", pusher);
        using var reader = As("alice", puller);

        (await robot.PutIndexAsync("/v1/repositories/alice/robotapp/", "[]").ReadAsync()).Status.Should().Be(200);
        var id = V1Client.NewImageId();
        await robot.PushImageAsync(id, [1, 2, 3]);
        (await robot.PutTagAsync("alice/robotapp", "latest", id).ReadAsync()).Should().Be((200, "true"));
        (await robot.GetAsync("/v1/repositories/alice/robotapp/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{id}\"}}"));
        (await reader.GetAsync("/v1/repositories/alice/robotapp/tags/latest").ReadAsync()).Should().Be((200, $"\"{id}\""));
        (await reader.GetAsync($"/v1/images/{id}/json").ReadAsync()).Status.Should().Be(200);

        (await robot.PutTagAsync("alice/other", "latest", id).ReadAsync())
            .Should().Be((403, "{\"error\": \"Access token does not grant push on alice/other\"}"));
        (await robot.PutIndexAsync("/v1/repositories/alice/other/", "[]").ReadAsync()).Status.Should().Be(403);
        (await robot.DeleteAsync("/v1/repositories/alice/robotapp/tags/latest").ReadAsync())
            .Should().Be((403, "{\"error\": \"Access token does not grant delete on alice/robotapp\"}"));
        (await reader.PutTagAsync("alice/robotapp", "other", id).ReadAsync())
            .Should().Be((403, "{\"error\": \"Access token does not grant push on alice/robotapp\"}"));
        (await reader.PutJsonAsync(V1Client.NewImageId(), "{}").ReadAsync())
            .Should().Be((403, "{\"error\": \"Access token does not grant push\"}"));
        // The scope allows bob/*, but alice herself may not write there.
        (await robot.PutTagAsync("bob/app", "latest", id).ReadAsync()).Should().Be((403, "{\"error\": \"Access denied\"}"));
    }

    [Test]
    public async Task V2_push_and_pull_within_the_scopes_and_403_outside_them()
    {
        var (_, pusher) = await CreateAsync("alice", "ci-v2-push", "[{\"repository\": \"alice/v2app\", \"actions\": [\"pull\", \"push\"]}]");
        using var robot = As("alice", pusher);
        var (config, layer) = await V2Seed.ImageBlobsAsync(_registry, "alice/v2app");
        var manifest = V2Seed.OciManifest(config, layer);

        (await robot.GetAsync("/v2/").ReadAsync()).Status.Should().Be(200);
        await robot.PushManifestAsync("alice/v2app", "latest", manifest);
        using (var pulled = await robot.GetAsync("/v2/alice/v2app/manifests/latest"))
        {
            ((int)pulled.StatusCode).Should().Be(200);
            (await pulled.Content.ReadAsByteArrayAsync()).Should().Equal(manifest.Bytes);
        }
        (await robot.PostAsync("/v2/alice/v2app/blobs/uploads/", null).ReadAsync()).Status.Should().Be(202);

        var (otherConfig, otherLayer) = await V2Seed.ImageBlobsAsync(_registry, "alice/v2other");
        var (status, body) = await robot.PutManifestAsync("alice/v2other", "latest", V2Seed.OciManifest(otherConfig, otherLayer)).ReadAsync();
        (status, body).Should().Match<(int, string)>(r => r.Item1 == 403 && r.Item2.Contains("\"DENIED\""));
        (await robot.PostAsync("/v2/alice/v2other/blobs/uploads/", null).ReadAsync()).Status.Should().Be(403);
        (await robot.DeleteAsync($"/v2/alice/v2app/manifests/{manifest.Digest}").ReadAsync()).Status.Should().Be(403);
    }
}
