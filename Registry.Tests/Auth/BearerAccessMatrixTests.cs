using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;
using static Registry.Tests.Auth.TokenClient;

namespace Registry.Tests.Auth;

/// <summary>
/// The access matrix of Accounts/AccessMatrixTests with Bearer tokens of the token server: {anonymous, owner,
/// other user, admin} x {pull, push, delete} x {public, private}. The token grants exactly what the Basic rules
/// allow; the V1 operation with it succeeds or is 403, and v2 answers 401 insufficient_scope for what it lacks.
/// </summary>
public class BearerAccessMatrixTests
{
    private static readonly Dictionary<string, string> Passwords = new() { ["alice"] = "alice-pw", ["bob"] = "bob-pw", ["root"] = "root-pw" };

    private TestRegistry _registry = null!;
    private string _image = null!;
    private string _publicImage = null!;

    private HttpClient Client => _registry.Client;

    [OneTimeSetUp]
    public async Task SetUpAsync()
    {
        _registry = Start(Passwords.Select(p => $"{p.Key}:{p.Value}"), new Dictionary<string, string> { ["REGISTRY_AUTH_ADMINS"] = "root" });
        _image = V1Client.NewImageId();
        _publicImage = V1Client.NewImageId();
        var root = TestRegistry.Basic("root", "root-pw");
        foreach (var (id, repo) in new[] { (_image, "private"), (_publicImage, "public") })
        {
            (await Send(HttpMethod.Put, $"/v1/repositories/alice/{repo}/", root, $"[{{\"id\": \"{id}\"}}]")).Should().Be(200);
            var json = V1Client.ImageJson(id);
            (await Send(HttpMethod.Put, $"/v1/images/{id}/json", root, json)).Should().Be(200);
            var layer = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/layer") { Content = new ByteArrayContent([1, 2, 3]) };
            layer.Headers.Authorization = root;
            ((int)(await Client.SendAsync(layer)).StatusCode).Should().Be(200);
            var checksum = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/checksum");
            checksum.Headers.Authorization = root;
            checksum.Headers.Add("X-Docker-Checksum-Payload", V1Client.PayloadChecksum(json, [1, 2, 3]));
            ((int)(await Client.SendAsync(checksum)).StatusCode).Should().Be(200);
            (await Send(HttpMethod.Put, $"/v1/repositories/alice/{repo}/tags/latest", root, $"\"{id}\"")).Should().Be(200);
        }
        (await Send(HttpMethod.Put, "/v1/repositories/alice/private/properties", root, "{\"access\": \"private\"}")).Should().Be(200);
    }

    [OneTimeTearDown]
    public async Task TearDownAsync() => await _registry.DisposeAsync();

    public static IEnumerable<TestCaseData> Cells()
    {
        foreach (var principal in new[] { "anonymous", "alice", "bob", "root" })
        foreach (var action in new[] { "pull", "push", "delete" })
        foreach (var repo in new[] { "public", "private" })
        {
            var granted = (principal, action, repo) switch
            {
                ("alice" or "root", _, _) => true,
                ("anonymous" or "bob", "pull", "public") => true,
                _ => false,
            };
            yield return new TestCaseData(principal, action, repo, granted).SetName($"{principal} {action} {repo} via Bearer -> {(granted ? "granted" : "refused")}");
        }
    }

    [TestCaseSource(nameof(Cells))]
    public async Task Bearer_access_matrix(string principal, string action, string repo, bool granted)
    {
        var path = $"/v1/repositories/alice/{repo}";
        var own = repo == "public" ? _publicImage : _image;
        if (action == "delete") (await Send(HttpMethod.Put, $"{path}/tags/gone", TestRegistry.Basic("root", "root-pw"), $"\"{own}\"")).Should().Be(200);

        var token = await TokenAsync(Client, principal == "anonymous" ? null : principal, principal == "anonymous" ? null : Passwords[principal],
            $"repository:alice/{repo}:{action}");
        Access(token).Should().Be(granted ? $$"""[{"type":"repository","name":"alice/{{repo}}","actions":["{{action}}"]}]""" : "[]");

        var bearer = Bearer(token);
        var status = action switch
        {
            "pull" => await Send(HttpMethod.Get, $"{path}/tags", bearer),
            "push" => await Send(HttpMethod.Put, $"{path}/tags/written", bearer, $"\"{own}\""),
            _ => await Send(HttpMethod.Delete, $"{path}/tags/gone", bearer),
        };
        status.Should().Be(granted ? 200 : 403);

        if (action != "pull") return;
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/alice/{repo}/tags/list") { Headers = { Authorization = bearer } };
        using var response = await Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(granted ? 404 : 401);
        if (!granted)
            response.Header("WWW-Authenticate").Should().Be(
                $"Bearer realm=\"{Realm}\",service=\"{Service}\",scope=\"repository:alice/{repo}:pull\",error=\"insufficient_scope\"");
    }

    [Test]
    public async Task Images_follow_the_repositories_the_token_grants()
    {
        var publicPull = Bearer(await TokenAsync(Client, "bob", "bob-pw", "repository:alice/public:pull"));
        (await Send(HttpMethod.Get, $"/v1/images/{_publicImage}/json", publicPull)).Should().Be(200);
        (await Send(HttpMethod.Get, $"/v1/images/{_image}/json", publicPull)).Should().Be(403);
        var privatePull = Bearer(await TokenAsync(Client, "alice", "alice-pw", "repository:alice/private:pull"));
        (await Send(HttpMethod.Get, $"/v1/images/{_image}/ancestry", privatePull)).Should().Be(200);
    }

    private async Task<int> Send(HttpMethod method, string path, AuthenticationHeaderValue? auth, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        request.Headers.Authorization = auth;
        using var response = await Client.SendAsync(request);
        return (int)response.StatusCode;
    }
}
