using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Accounts;

/// <summary>Sign-up, password change, htpasswd reload, throttling, and a docker 1.x push/pull with credentials.</summary>
public class AccountsApiTests
{
    private TestRegistry _registry = null!;
    private string _htpasswd = null!;

    private HttpClient Client => _registry.Client;

    [SetUp]
    public void SetUp()
    {
        var root = Directory.CreateTempSubdirectory("registry-accounts-").FullName;
        _htpasswd = Path.Combine(root, "htpasswd");
        File.WriteAllText(_htpasswd, HtpasswdFile.Line("alice", "alice-pw") + "\n");
        _registry = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = _htpasswd,
            ["REGISTRY_AUTH_SIGNUP"] = "true",
            ["REGISTRY_AUTH_MAX_FAILED_LOGINS"] = "3",
        }, root);
    }

    [TearDown]
    public async Task TearDown() => await _registry.DisposeAsync();

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private async Task<int> LoginAsync(string user, string password)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/users/");
        request.Headers.Authorization = Basic(user, password);
        return (int)(await Client.SendAsync(request)).StatusCode;
    }

    [Test]
    public async Task Sign_up_then_log_in_then_change_the_password()
    {
        var body = "{\"username\": \"carol\", \"password\": \"carol-pw\", \"email\": \"carol@example.com\"}";
        (await Client.PostAsync("/v1/users/", new StringContent(body)).ReadAsync()).Should().Be((201, "\"User Created\""));
        (await Client.PostAsync("/v1/users/", new StringContent(body)).ReadAsync()).Should().Be((400, "\"Username or email already exists\""));
        (await Client.PostAsync("/v1/users/", new StringContent("{\"username\": \"alice\", \"password\": \"xxxxxx\"}")).ReadAsync())
            .Should().Be((400, "\"Username or email already exists\""));
        (await Client.PostAsync("/v1/users/", new StringContent("{\"username\": \"dave\", \"password\": \"dave-pw\", \"email\": \"carol@example.com\"}")).ReadAsync())
            .Should().Be((400, "\"Username or email already exists\""));
        (await Client.PostAsync("/v1/users/", new StringContent("{\"username\": \"X!\", \"password\": \"pw123\"}")).ReadAsync())
            .Should().Be((400, "{\"error\": \"Invalid username (must match ^[a-z0-9_]{4,30}$)\"}"));
        (await LoginAsync("carol", "carol-pw")).Should().Be(200);

        var change = new HttpRequestMessage(HttpMethod.Put, "/v1/users/carol/") { Content = new StringContent("{\"password\": \"new-carol-pw\"}") };
        change.Headers.Authorization = Basic("carol", "carol-pw");
        (await Client.SendAsync(change).ReadAsync()).Should().Be((204, ""));
        (await LoginAsync("carol", "carol-pw")).Should().Be(401);
        (await LoginAsync("carol", "new-carol-pw")).Should().Be(200);

        var other = new HttpRequestMessage(HttpMethod.Put, "/v1/users/alice/") { Content = new StringContent("{\"password\": \"hijacked\"}") };
        other.Headers.Authorization = Basic("carol", "new-carol-pw");
        (await Client.SendAsync(other).ReadAsync()).Status.Should().Be(403);
    }

    [Test]
    public async Task Htpasswd_file_is_reread_when_it_changes()
    {
        (await LoginAsync("erin", "erin-pw")).Should().Be(401);
        await File.AppendAllTextAsync(_htpasswd, HtpasswdFile.Line("erin", "erin-pw") + "\n");
        File.SetLastWriteTimeUtc(_htpasswd, DateTime.UtcNow.AddSeconds(5));
        await Task.Delay(1100);
        (await LoginAsync("erin", "erin-pw")).Should().Be(200);
    }

    [Test]
    public async Task Failed_logins_are_throttled_per_address()
    {
        for (var i = 0; i < 3; i++) (await LoginAsync("alice", "wrong")).Should().Be(401);
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/users/");
        request.Headers.Authorization = Basic("alice", "alice-pw");
        using var response = await Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(429);
        response.Headers.RetryAfter.Should().NotBeNull();
    }

    [Test]
    public async Task Wrong_access_token_secrets_are_throttled_like_passwords()
    {
        var create = new HttpRequestMessage(HttpMethod.Post, "/v1/users/alice/tokens")
        {
            Content = new StringContent("{\"name\": \"ci\", \"scopes\": [{\"repository\": \"alice/*\", \"actions\": [\"pull\"]}]}"),
        };
        create.Headers.Authorization = Basic("alice", "alice-pw");
        using var created = await Client.SendAsync(create);
        ((int)created.StatusCode).Should().Be(201);
        var secret = (string)System.Text.Json.Nodes.JsonNode.Parse(await created.Content.ReadAsStringAsync())!["token"]!;

        (await LoginAsync("alice", secret)).Should().Be(200);
        for (var i = 0; i < 3; i++) (await LoginAsync("alice", "rgt_" + new string('A', 43))).Should().Be(401);
        (await LoginAsync("alice", secret)).Should().Be(429);
    }

    [Test]
    public async Task Docker_1x_push_and_pull_with_credentials_use_tokens()
    {
        var (a, layer) = (V1Client.NewImageId(), TarBuilder.GzipTar(("./f", "x")));
        var put = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/alice/app/") { Content = new StringContent($"[{{\"id\":\"{a}\",\"Tag\":\"latest\"}}]") };
        put.Headers.Add("X-Docker-Token", "true");
        put.Headers.Authorization = Basic("alice", "alice-pw");
        string token;
        using (var response = await Client.SendAsync(put))
        {
            ((int)response.StatusCode).Should().Be(200);
            token = response.Headers.GetValues("X-Docker-Token").Single();
        }

        var withToken = new HttpClient(new TokenHandler("Token " + token, _registry)) { BaseAddress = Client.BaseAddress };
        await withToken.PushImageAsync(a, layer);
        (await withToken.PutTagAsync("alice/app", "latest", a).ReadAsync()).Should().Be((200, "true"));
        (await withToken.PutTagAsync("alice/other", "latest", a).ReadAsync()).Status.Should().Be(403);

        var anonymousPull = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/alice/app/images");
        anonymousPull.Headers.Add("X-Docker-Token", "true");
        using var pull = await Client.SendAsync(anonymousPull);
        ((int)pull.StatusCode).Should().Be(200);
        var readToken = pull.Headers.GetValues("X-Docker-Token").Single();
        readToken.Should().Contain("access=read");
        var reader = new HttpClient(new TokenHandler("Token " + readToken, _registry)) { BaseAddress = Client.BaseAddress };
        (await reader.GetAsync("/v1/repositories/alice/app/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{a}\"}}"));
        (await reader.GetByteArrayAsync($"/v1/images/{a}/layer")).Should().Equal(layer);
        (await reader.PutTagAsync("alice/app", "evil", a).ReadAsync()).Status.Should().Be(403);
    }

    /// <summary>Sends every request through the in-process server with a fixed Authorization header.</summary>
    private sealed class TokenHandler(string authorization, TestRegistry registry) : DelegatingHandler(registry.CreateHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
