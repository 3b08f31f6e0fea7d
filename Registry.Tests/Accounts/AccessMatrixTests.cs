using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Accounts;

/// <summary>
/// {anonymous, owner, other user, admin} x {read, write, delete} x {public, private} x {Basic, Token, Robot},
/// every cell through HTTP, plus expired, forged, other-repository and wrong-access tokens. A robot is the user's access
/// token for <c>alice/*</c> with every action: it keeps its user's rights there, but never an admin's.
/// </summary>
public class AccessMatrixTests
{
    private const string SecretKey = "matrix-test-secret-key";
    private static readonly Dictionary<string, string> Passwords = new() { ["alice"] = "alice-pw", ["bob"] = "bob-pw", ["root"] = "root-pw" };

    private TestRegistry _registry = null!;
    private string _image = null!;
    private string _publicImage = null!;
    private readonly Dictionary<string, string> _robots = [];

    private HttpClient Client => _registry.Client;

    [OneTimeSetUp]
    public async Task SetUpAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "registry-auth-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var htpasswd = Path.Combine(root, "htpasswd");
        await File.WriteAllLinesAsync(htpasswd, Passwords.Select(p => HtpasswdFile.Line(p.Key, p.Value)));
        _registry = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_ADMINS"] = "root",
            ["SECRET_KEY"] = SecretKey,
        }, root);

        _image = V1Client.NewImageId();
        _publicImage = V1Client.NewImageId();
        await Send(HttpMethod.Put, "/v1/repositories/alice/public/", Basic("root"), $"[{{\"id\": \"{_publicImage}\"}}]");
        await Send(HttpMethod.Put, "/v1/repositories/alice/private/", Basic("root"), $"[{{\"id\": \"{_image}\"}}]");
        foreach (var (id, repo) in new[] { (_image, "private"), (_publicImage, "public") })
        {
            var json = V1Client.ImageJson(id);
            (await Send(HttpMethod.Put, $"/v1/images/{id}/json", Basic("root"), json)).Status.Should().Be(200);
            (await SendLayer(id, [1, 2, 3], Basic("root"))).Should().Be(200);
            var checksum = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/checksum");
            checksum.Headers.Authorization = Basic("root");
            checksum.Headers.Add("X-Docker-Checksum-Payload", V1Client.PayloadChecksum(json, [1, 2, 3]));
            ((int)(await Client.SendAsync(checksum)).StatusCode).Should().Be(200);
            (await Send(HttpMethod.Put, $"/v1/repositories/alice/{repo}/tags/latest", Basic("root"), $"\"{id}\"")).Status.Should().Be(200);
        }
        (await Send(HttpMethod.Put, "/v1/repositories/alice/private/properties", Basic("root"), "{\"access\": \"private\"}")).Status.Should().Be(200);
        foreach (var user in Passwords.Keys)
            _robots[user] = await CreateRobotAsync(user, "matrix", "[{\"repository\": \"alice/*\", \"actions\": [\"pull\", \"push\", \"delete\"]}]");
    }

    private async Task<string> CreateRobotAsync(string user, string name, string scopes)
    {
        var (status, body, _) = await Send(HttpMethod.Post, $"/v1/users/{user}/tokens", Basic(user), $"{{\"name\": \"{name}\", \"scopes\": {scopes}}}");
        status.Should().Be(201, body);
        return (string)System.Text.Json.Nodes.JsonNode.Parse(body)!["token"]!;
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    [OneTimeTearDown]
    public async Task TearDownAsync() => await _registry.DisposeAsync();

    private static AuthenticationHeaderValue Basic(string user) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{Passwords[user]}")));

    private async Task<(int Status, string Body, HttpResponseMessage Response)> Send(HttpMethod method, string path, AuthenticationHeaderValue? auth, string? body = null, bool wantToken = false)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (auth is not null) request.Headers.Authorization = auth;
        if (wantToken) request.Headers.Add("X-Docker-Token", "true");
        var response = await Client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    private async Task<int> SendLayer(string id, byte[] layer, AuthenticationHeaderValue auth)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/layer") { Content = new ByteArrayContent(layer) };
        request.Headers.Authorization = auth;
        return (int)(await Client.SendAsync(request)).StatusCode;
    }

    public static IEnumerable<TestCaseData> Cells()
    {
        string?[] principals = [null, "alice", "bob", "root"];
        foreach (var principal in principals)
        foreach (var access in new[] { "read", "write", "delete" })
        foreach (var repo in new[] { "public", "private" })
        foreach (var mode in new[] { "Basic", "Token", "Robot" })
        {
            if (principal is null && mode == "Robot") continue;
            var expected = (principal, access, repo) switch
            {
                ("root", _, _) when mode == "Robot" => access == "read" && repo == "public" ? 200 : 403,
                ("alice" or "root", _, _) => 200,
                (null, "read", "public") => 200,
                (null, _, _) => 401,
                ("bob", "read", "public") => 200,
                _ => 403,
            };
            yield return new TestCaseData(principal ?? "anonymous", access, repo, mode, expected)
                .SetName($"{principal ?? "anonymous"} {access} {repo} via {mode} -> {expected}");
        }
    }

    [TestCaseSource(nameof(Cells))]
    public async Task Access_matrix(string principal, string access, string repo, string mode, int expected)
    {
        var basic = principal == "anonymous" ? null : Basic(principal);
        var path = $"/v1/repositories/alice/{repo}";
        var own = repo == "public" ? _publicImage : _image;
        if (access == "delete")
            (await Send(HttpMethod.Put, $"{path}/tags/gone", Basic("root"), $"\"{own}\"")).Status.Should().Be(200);

        var credentials = mode == "Robot" ? Basic(principal, _robots[principal]) : basic;
        if (mode == "Token")
        {
            // The index hands out a token for the access only to those who have it.
            var (method, indexPath) = access switch
            {
                "read" => (HttpMethod.Get, $"{path}/images"),
                "write" => (HttpMethod.Put, $"{path}/"),
                _ => (HttpMethod.Delete, $"{path}/images"),
            };
            var (status, body, response) = await Send(method, indexPath, basic, access == "write" ? $"[{{\"id\": \"{own}\"}}]" : null, wantToken: true);
            if (expected != 200)
            {
                (status, body).Should().Be((expected, status == 401 ? Body401(response) : body));
                response.Headers.Contains("X-Docker-Token").Should().BeFalse();
                return;
            }
            status.Should().BeOneOf(200, 204);
            var token = response.Headers.GetValues("X-Docker-Token").Single();
            token.Should().MatchRegex($"^Token signature=[A-Za-z0-9_-]+,repository=\"alice/{repo}\",access={access},expires=\\d+,user=[A-Za-z0-9_-]*$");
            credentials = new AuthenticationHeaderValue("Token", token);
        }

        var (opStatus, opBody, opResponse) = access switch
        {
            "read" => await Send(HttpMethod.Get, $"{path}/tags", credentials),
            "write" => await Send(HttpMethod.Put, $"{path}/tags/written", credentials, $"\"{own}\""),
            _ => await Send(HttpMethod.Delete, $"{path}/tags/gone", credentials),
        };
        opStatus.Should().Be(expected, opBody);
        if (expected == 401) opResponse.Headers.WwwAuthenticate.ToString().Should().Be("Basic realm=\"Registry Realm\"");
        if (expected != 200) opBody.Should().StartWith("{\"error\": ");
        if (expected == 200 && access == "read") opBody.Should().Contain($"\"latest\": \"{(repo == "public" ? _publicImage : _image)}\"");
    }

    private static string Body401(HttpResponseMessage response)
    {
        response.Headers.WwwAuthenticate.ToString().Should().Be("Basic realm=\"Registry Realm\"");
        return response.Content.ReadAsStringAsync().Result;
    }

    private string Forge(string repository, string access, long expires, string user, string? key = null)
    {
        var userField = Convert.ToBase64String(Encoding.UTF8.GetBytes(user)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var signature = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key ?? SecretKey),
            Encoding.UTF8.GetBytes($"{repository}\n{access}\n{expires}\n{userField}"))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"Token signature={signature},repository=\"{repository}\",access={access},expires={expires},user={userField}";
    }

    [Test]
    public async Task A_token_signed_with_the_right_key_is_accepted_even_with_the_doubled_prefix()
    {
        var token = Forge("alice/private", "read", DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds(), "alice");
        (await Send(HttpMethod.Get, "/v1/repositories/alice/private/tags", new AuthenticationHeaderValue("Token", token))).Status.Should().Be(200);
    }

    [Test]
    public async Task Expired_forged_other_repository_and_wrong_access_tokens_are_rejected()
    {
        var future = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        var expired = Forge("alice/private", "read", DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), "alice");
        var forged = Forge("alice/private", "read", future, "alice", key: "not-the-key");
        var otherRepository = Forge("alice/public", "write", future, "alice");
        var wrongAccess = Forge("alice/private", "read", future, "alice");

        (await Send(HttpMethod.Get, "/v1/repositories/alice/private/tags", new("Token", expired))).Status.Should().Be(401);
        (await Send(HttpMethod.Get, "/v1/repositories/alice/private/tags", new("Token", forged))).Status.Should().Be(401);
        (await Send(HttpMethod.Get, "/v1/repositories/alice/private/tags", new("Token", otherRepository))).Status.Should().Be(403);
        (await Send(HttpMethod.Put, "/v1/repositories/alice/private/tags/x", new("Token", wrongAccess), $"\"{_image}\"")).Status.Should().Be(403);
        (await Send(HttpMethod.Get, "/v1/repositories/alice/private/tags", new("Token", "signature=abc,repository=\"alice/private\",access=read"))).Status.Should().Be(401);
    }

    [Test]
    public async Task Images_of_a_private_repository_are_not_served_to_others()
    {
        (await Send(HttpMethod.Get, $"/v1/images/{_image}/json", null)).Status.Should().Be(401);
        (await Send(HttpMethod.Get, $"/v1/images/{_image}/layer", Basic("bob"))).Status.Should().Be(404);
        (await Send(HttpMethod.Get, $"/v1/images/{_image}/ancestry", Basic("alice"))).Status.Should().Be(200);
        (await Send(HttpMethod.Get, $"/v1/images/{_image}/json", Basic("root"))).Status.Should().Be(200);
        (await Send(HttpMethod.Get, $"/v1/images/{_publicImage}/json", null)).Status.Should().Be(200);
        (await Send(HttpMethod.Get, $"/v1/images/{_publicImage}/json", Basic("bob"))).Status.Should().Be(200);
        var readToken = Forge("alice/public", "read", DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds(), "bob");
        (await Send(HttpMethod.Get, $"/v1/images/{_image}/json", new("Token", readToken))).Status.Should().Be(403);
    }

    [Test]
    public async Task Private_repositories_are_found_only_by_those_who_may_read_them()
    {
        async Task<string[]> NamesAsync(AuthenticationHeaderValue? auth, string query = "?q=alice")
        {
            var (status, body, _) = await Send(HttpMethod.Get, "/v1/search" + query, auth);
            status.Should().Be(200, body);
            return System.Text.Json.Nodes.JsonNode.Parse(body)!["results"]!.AsArray().Select(r => (string)r!["name"]!).ToArray();
        }

        (await NamesAsync(null)).Should().Equal("alice/public");
        (await NamesAsync(Basic("bob"))).Should().Equal("alice/public");
        (await NamesAsync(Basic("alice"))).Should().Equal("alice/private", "alice/public");
        (await NamesAsync(Basic("root"))).Should().Equal("alice/private", "alice/public");
        (await NamesAsync(Basic("alice"), "?q=alice&n=1&page=1")).Should().Equal("alice/private");
        (await NamesAsync(Basic("alice"), "?q=alice&n=1&page=2")).Should().Equal("alice/public");
        (await NamesAsync(Basic("alice"), "?q=alice&n=1&page=3")).Should().BeEmpty();
        var (_, paged, _) = await Send(HttpMethod.Get, "/v1/search?q=alice&n=1&page=2", Basic("alice"));
        paged.Should().StartWith("{\"num_pages\": 2, \"num_results\": 2, \"page\": 2, \"page_size\": 1, ");
        var wrong = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:nope")));
        (await NamesAsync(wrong)).Should().Equal("alice/public");
    }

    [Test]
    public async Task A_deleted_private_repository_leaves_its_owners_search()
    {
        (await Send(HttpMethod.Put, "/v1/repositories/alice/gonesoon/", Basic("alice"), "[]")).Status.Should().Be(200);
        (await Send(HttpMethod.Put, "/v1/repositories/alice/gonesoon/properties", Basic("alice"), "{\"access\": \"private\"}")).Status.Should().Be(200);
        (await Send(HttpMethod.Get, "/v1/search?q=gonesoon", Basic("alice"))).Body.Should().Contain("\"alice/gonesoon\"");
        (await Send(HttpMethod.Delete, "/v1/repositories/alice/gonesoon/", Basic("alice"))).Status.Should().Be(200);
        (await Send(HttpMethod.Get, "/v1/search?q=gonesoon", Basic("alice"))).Body.Should().Contain("\"num_results\": 0");
    }

    [Test]
    public async Task Empty_basic_credentials_are_anonymous()
    {
        var empty = new AuthenticationHeaderValue("Basic", "Og==");
        (await Send(HttpMethod.Get, "/v1/repositories/alice/public/tags", empty)).Status.Should().Be(200);
        (await Send(HttpMethod.Put, "/v1/repositories/alice/public/tags/x", empty, $"\"{_publicImage}\"")).Status.Should().Be(401);
    }

    [Test]
    public async Task Users_endpoint_checks_credentials()
    {
        (await Send(HttpMethod.Get, "/v1/users/", Basic("alice"))).Should().Match<(int, string, HttpResponseMessage)>(r => r.Item1 == 200 && r.Item2 == "\"OK\"");
        var wrong = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:nope")));
        var (status, body, response) = await Send(HttpMethod.Get, "/v1/users/", wrong);
        (status, body).Should().Be((401, "{\"error\": \"Wrong login/password\"}"));
        response.Headers.WwwAuthenticate.ToString().Should().Be("Basic realm=\"Registry Realm\"");
        (await Send(HttpMethod.Post, "/v1/users/", null, "{\"username\": \"carol\", \"password\": \"pw123\", \"email\": \"c@x\"}")).Status.Should().Be(401);
    }

    [Test]
    public async Task A_robot_limited_to_pulling_one_repository_reads_only_that_one()
    {
        var secret = await CreateRobotAsync("alice", "pull-public", "[{\"repository\": \"alice/public\", \"actions\": [\"pull\"]}]");
        var robot = Basic("alice", secret);

        (await Send(HttpMethod.Get, "/v1/repositories/alice/public/tags", robot)).Status.Should().Be(200);
        (await Send(HttpMethod.Get, $"/v1/images/{_publicImage}/json", robot)).Status.Should().Be(200);
        (await Send(HttpMethod.Get, "/v1/repositories/alice/private/tags", robot))
            .Should().Match<(int, string, HttpResponseMessage)>(r => r.Item1 == 403 && r.Item2 == "{\"error\": \"Access token does not grant pull on alice/private\"}");
        (await Send(HttpMethod.Get, $"/v1/images/{_image}/json", robot)).Status.Should().Be(404);
        (await Send(HttpMethod.Put, "/v1/repositories/alice/public/tags/robot", robot, $"\"{_publicImage}\"")).Status.Should().Be(403);
        var (_, found, _) = await Send(HttpMethod.Get, "/v1/search?q=alice", robot);
        found.Should().Contain("\"alice/public\"").And.NotContain("alice/private");
        (await Send(HttpMethod.Get, "/v1/search?q=alice", Basic("alice", _robots["alice"]))).Body.Should().Contain("\"alice/private\"");
    }
}
