using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts.Bearer;
using Registry.Tests.Support;
using static Registry.Tests.Auth.TokenClient;

namespace Registry.Tests.Auth;

/// <summary>The built-in token server over HTTP: the endpoint, the tokens it signs, and the Bearer challenges of v2.</summary>
public class TokenServerTests
{
    private static readonly string[] Users = ["alice:alice-pw", "bob:bob-pw"];

    [Test]
    public async Task Every_v2_challenge_is_bearer_with_the_realm_service_and_scope()
    {
        await using var registry = Start(Users);

        using var root = await registry.Client.GetAsync("/v2/");
        ((int)root.StatusCode).Should().Be(401);
        root.Header("WWW-Authenticate").Should().Be($"Bearer realm=\"{Realm}\",service=\"{Service}\"");

        using var push = await registry.Client.PostAsync("/v2/alice/app/blobs/uploads/", null);
        ((int)push.StatusCode).Should().Be(401);
        push.Header("WWW-Authenticate").Should().Be($"Bearer realm=\"{Realm}\",service=\"{Service}\",scope=\"repository:alice/app:pull,push\"");
        using var proxied = new HttpRequestMessage(HttpMethod.Post, "/v2/alice/app/blobs/uploads/")
        {
            Headers = { { "X-Forwarded-Proto", "https" }, { "X-Forwarded-Host", "registry.example.test" } },
        };
        using var behindProxy = await registry.Client.SendAsync(proxied);
        behindProxy.Header("WWW-Authenticate").Should().Be(
            $"Bearer realm=\"https://registry.example.test/v2/token\",service=\"{Service}\",scope=\"repository:alice/app:pull,push\"");
        (await push.Content.ReadAsStringAsync()).Should().Be(
            """{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Class":"","Name":"alice/app","Action":"pull"},{"Type":"repository","Class":"","Name":"alice/app","Action":"push"}]}]}""");
    }

    [Test]
    public async Task A_token_carries_the_spec_claims_kid_and_x5c_and_opens_what_it_grants()
    {
        await using var registry = Start(Users);
        var (status, body) = await GetAsync(registry.Client, $"service={Service}&scope=repository:alice/app:pull,push&account=alice", "alice", "alice-pw");

        status.Should().Be(200);
        var token = body.GetProperty("token").GetString()!;
        body.GetProperty("access_token").GetString().Should().Be(token);
        body.GetProperty("expires_in").GetInt32().Should().Be(3600);
        body.GetProperty("issued_at").GetString().Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$");
        body.TryGetProperty("refresh_token", out _).Should().BeFalse();

        var header = Header(token);
        header.GetProperty("alg").GetString().Should().Be("RS256");
        var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(header.GetProperty("x5c")[0].GetString()!));
        header.GetProperty("kid").GetString().Should().Be(TokenSigningKeys.LibtrustKeyId(certificate)).And.MatchRegex("^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$");
        var claims = Claims(token);
        claims.GetProperty("iss").GetString().Should().Be(Service);
        claims.GetProperty("aud").GetString().Should().Be(Service);
        claims.GetProperty("sub").GetString().Should().Be("alice");
        claims.GetProperty("jti").GetString().Should().HaveLength(32);
        (claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64()).Should().Be(3600);
        claims.GetProperty("nbf").GetInt64().Should().Be(claims.GetProperty("iat").GetInt64());
        Access(token).Should().Be("""[{"type":"repository","name":"alice/app","actions":["pull","push"]}]""");

        using var upload = new HttpRequestMessage(HttpMethod.Post, "/v2/alice/app/blobs/uploads/") { Headers = { Authorization = Bearer(token) } };
        using var started = await registry.Client.SendAsync(upload);
        ((int)started.StatusCode).Should().Be(202);
    }

    [Test]
    public async Task Grants_are_the_intersection_of_the_scopes_and_the_rules_and_partial_grants_are_not_errors()
    {
        await using var registry = Start(Users);
        var token = await TokenAsync(registry.Client, "alice", "alice-pw",
            "repository:bob/app:pull,push repository:alice/app:*", "repository:localhost:5000/alice/app:pull", "repository:Alice/App:pull",
            "repository(plugin):alice/tool:pull", "registry:catalog:*", "thing:x:pull");
        Access(token).Should().Be(
            """[{"type":"repository","name":"bob/app","actions":["pull"]},{"type":"repository","name":"alice/app","actions":["pull","push","delete"]},{"type":"repository","name":"alice/tool","actions":["pull"]},{"type":"registry","name":"catalog","actions":["*"]}]""");

        var anonymous = await TokenAsync(registry.Client, null, null, "repository:alice/app:pull,push");
        Access(anonymous).Should().Be("""[{"type":"repository","name":"alice/app","actions":["pull"]}]""");
        Claims(anonymous).GetProperty("sub").GetString().Should().Be("");
    }

    [Test]
    public async Task A_valid_token_without_the_access_gets_insufficient_scope()
    {
        await using var registry = Start(Users);
        var pullOnly = await TokenAsync(registry.Client, "bob", "bob-pw", "repository:alice/app:pull,push");

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/alice/app/blobs/uploads/") { Headers = { Authorization = Bearer(pullOnly) } };
        using var response = await registry.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(401);
        response.Header("WWW-Authenticate").Should().Be(
            $"Bearer realm=\"{Realm}\",service=\"{Service}\",scope=\"repository:alice/app:pull,push\",error=\"insufficient_scope\"");

        using var pull = new HttpRequestMessage(HttpMethod.Get, "/v2/alice/app/tags/list") { Headers = { Authorization = Bearer(pullOnly) } };
        using var pulled = await registry.Client.SendAsync(pull);
        ((int)pulled.StatusCode).Should().Be(404);
        (await pulled.Content.ReadAsStringAsync()).Should().Contain("NAME_UNKNOWN");
    }

    [Test]
    public async Task An_empty_access_list_opens_the_base_and_the_catalog_needs_its_scope()
    {
        await using var registry = Start(Users);
        var login = await TokenAsync(registry.Client, "alice", "alice-pw");
        Access(login).Should().Be("[]");

        using var root = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { Authorization = Bearer(login) } };
        using var rootResponse = await registry.Client.SendAsync(root);
        ((int)rootResponse.StatusCode).Should().Be(200);

        using var catalog = new HttpRequestMessage(HttpMethod.Get, "/v2/_catalog") { Headers = { Authorization = Bearer(login) } };
        using var refused = await registry.Client.SendAsync(catalog);
        ((int)refused.StatusCode).Should().Be(401);
        refused.Header("WWW-Authenticate").Should().Be(
            $"Bearer realm=\"{Realm}\",service=\"{Service}\",scope=\"registry:catalog:*\",error=\"insufficient_scope\"");

        var lister = await TokenAsync(registry.Client, "alice", "alice-pw", "registry:catalog:*");
        using var list = new HttpRequestMessage(HttpMethod.Get, "/v2/_catalog") { Headers = { Authorization = Bearer(lister) } };
        using var listed = await registry.Client.SendAsync(list);
        ((int)listed.StatusCode).Should().Be(200);
        (await listed.Content.ReadAsStringAsync()).Should().Be("""{"repositories":[]}""");
    }

    [Test]
    public async Task Bad_requests_get_oauth2_errors_and_bad_tokens_a_v2_error_never_a_500()
    {
        await using var registry = Start(Users);
        (await GetAsync(registry.Client, $"service={Service}&scope=repository:alice/app:pull", "alice", "wrong")).Should().Match<(int, System.Text.Json.JsonElement)>(r =>
            r.Item1 == 401 && r.Item2.GetRawText() == """{"error":"invalid_grant","error_description":"invalid username or password"}""");
        var (status, body) = await GetAsync(registry.Client, "scope=" + Uri.EscapeDataString("repository:alice/app"));
        status.Should().Be(400);
        body.GetRawText().Should().Be("""{"error":"invalid_scope","error_description":"a scope is not type:name:actions"}""");
        (status, body) = await GetAsync(registry.Client, "service=other&scope=repository:alice/app:pull");
        status.Should().Be(400);
        body.GetProperty("error").GetString().Should().Be("invalid_request");
        // A name outside the grammar is a scope nothing is granted for, as a name of another registry.
        (status, body) = await GetAsync(registry.Client, "scope=" + Uri.EscapeDataString("repository:\u00e9\u0000\"x:pull"));
        status.Should().Be(200);
        Access(body.GetProperty("token").GetString()!).Should().Be("[]");

        (status, body) = await PostAsync(registry.Client, new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = "test" });
        status.Should().Be(400);
        body.GetRawText().Should().Be("""{"error":"unsupported_grant_type","error_description":"grant_type must be password or refresh_token"}""");

        foreach (var bad in new[] { "not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.", new string('x', 7000), "e30." + new string('A', 9000) + ".x" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/alice/app/tags/list");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + bad);
            using var response = await registry.Client.SendAsync(request);
            ((int)response.StatusCode).Should().Be(401, bad[..Math.Min(bad.Length, 20)]);
            response.Header("WWW-Authenticate").Should().Be(
                $"Bearer realm=\"{Realm}\",service=\"{Service}\",scope=\"repository:alice/app:pull\",error=\"invalid_token\"");
            (await response.Content.ReadAsStringAsync()).Should().StartWith("""{"errors":[{"code":"UNAUTHORIZED","message":"authentication required""");
        }
    }

    [Test]
    public async Task Refresh_tokens_work_until_revoked_or_the_password_changes()
    {
        await using var registry = Start(Users, new Dictionary<string, string> { ["REGISTRY_AUTH_SIGNUP"] = "true" });
        using var signup = await registry.Client.PostAsync("/v1/users/",
            new StringContent("""{"username":"carol","password":"carol-pw","email":"carol@example.test"}""", Encoding.UTF8, "application/json"));
        ((int)signup.StatusCode).Should().Be(201);

        var (status, body) = await PostAsync(registry.Client, new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["username"] = "carol", ["password"] = "carol-pw", ["client_id"] = "docker",
            ["access_type"] = "offline", ["service"] = Service, ["scope"] = "repository:carol/app:pull,push",
        });
        status.Should().Be(200);
        body.GetProperty("scope").GetString().Should().Be("repository:carol/app:pull,push");
        var refresh = body.GetProperty("refresh_token").GetString()!;
        Access(body.GetProperty("access_token").GetString()!).Should().Be("""[{"type":"repository","name":"carol/app","actions":["pull","push"]}]""");

        var redeem = new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token", ["refresh_token"] = refresh, ["client_id"] = "docker", ["access_type"] = "offline",
            ["service"] = Service, ["scope"] = "repository:carol/app:pull",
        };
        (status, body) = await PostAsync(registry.Client, redeem);
        status.Should().Be(200);
        body.GetProperty("refresh_token").GetString().Should().Be(refresh);
        Claims(body.GetProperty("token").GetString()!).GetProperty("sub").GetString().Should().Be("carol");

        using var change = new HttpRequestMessage(HttpMethod.Put, "/v1/users/carol")
        {
            Content = new StringContent("""{"password":"carol-new"}""", Encoding.UTF8, "application/json"),
            Headers = { Authorization = TestRegistry.Basic("carol", "carol-pw") },
        };
        ((int)(await registry.Client.SendAsync(change)).StatusCode).Should().Be(204);
        (status, body) = await PostAsync(registry.Client, redeem);
        status.Should().Be(401);
        body.GetRawText().Should().Be("""{"error":"invalid_grant","error_description":"the refresh token is unknown or revoked"}""");

        (status, body) = await PostAsync(registry.Client, new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["username"] = "carol", ["password"] = "carol-new", ["client_id"] = "docker", ["access_type"] = "offline",
        });
        var second = body.GetProperty("refresh_token").GetString()!;
        using var revoke = await registry.Client.PostAsync("/v2/token/revoke", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = second }));
        ((int)revoke.StatusCode).Should().Be(200);
        redeem["refresh_token"] = second;
        (status, _) = await PostAsync(registry.Client, redeem);
        status.Should().Be(401);
        redeem["refresh_token"] = "never-issued";
        (status, _) = await PostAsync(registry.Client, redeem);
        status.Should().Be(401);
    }

    [Test]
    public async Task Offline_token_on_get_returns_a_refresh_token_for_users_only()
    {
        await using var registry = Start(Users);
        var (_, body) = await GetAsync(registry.Client, $"service={Service}&offline_token=true&client_id=docker", "alice", "alice-pw");
        body.GetProperty("refresh_token").GetString().Should().NotBeNullOrEmpty();
        (_, body) = await GetAsync(registry.Client, $"service={Service}&offline_token=true");
        body.TryGetProperty("refresh_token", out _).Should().BeFalse();
    }

    [Test]
    public async Task An_access_token_gets_only_its_scopes_and_never_a_refresh_token()
    {
        await using var registry = Start(Users);
        using var create = new HttpRequestMessage(HttpMethod.Post, "/v1/users/alice/tokens")
        {
            Content = new StringContent("""{"name": "ci", "scopes": [{"repository": "alice/app", "actions": ["pull"]}]}""", Encoding.UTF8, "application/json"),
            Headers = { Authorization = TestRegistry.Basic("alice", "alice-pw") },
        };
        using var created = await registry.Client.SendAsync(create);
        ((int)created.StatusCode).Should().Be(201);
        var secret = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;

        // A refresh token would stand for alice's full rights: a robot never gets one, on GET or on the password grant.
        var (status, body) = await GetAsync(registry.Client,
            $"service={Service}&offline_token=true&scope=repository:alice/app:pull,push&scope=repository:alice/other:pull", "alice", secret);
        status.Should().Be(200);
        body.TryGetProperty("refresh_token", out _).Should().BeFalse();
        Access(body.GetProperty("token").GetString()!).Should().Be("""[{"type":"repository","name":"alice/app","actions":["pull"]}]""");

        (status, body) = await PostAsync(registry.Client, new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["username"] = "alice", ["password"] = secret, ["client_id"] = "docker",
            ["access_type"] = "offline", ["service"] = Service, ["scope"] = "repository:alice/app:pull,push",
        });
        status.Should().Be(200);
        body.TryGetProperty("refresh_token", out _).Should().BeFalse();
        Access(body.GetProperty("access_token").GetString()!).Should().Be("""[{"type":"repository","name":"alice/app","actions":["pull"]}]""");

        (status, body) = await PostAsync(registry.Client, new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["username"] = "alice", ["password"] = secret + "x", ["client_id"] = "docker",
        });
        status.Should().Be(401);
    }

    [Test]
    public async Task ES256_tokens_are_signed_and_accepted()
    {
        await using var registry = Start(Users, new Dictionary<string, string> { ["REGISTRY_AUTH_TOKEN_SIGNING_ALGORITHM"] = "ES256" });
        var token = await TokenAsync(registry.Client, "alice", "alice-pw", "repository:alice/app:pull");
        Header(token).GetProperty("alg").GetString().Should().Be("ES256");
        token.Split('.')[2].Length.Should().Be(86); // 64 bytes of r||s in base64url

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/alice/app/tags/list") { Headers = { Authorization = Bearer(token) } };
        using var response = await registry.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(404);
    }

    [Test]
    public async Task The_generated_key_is_kept_in_storage_and_reused_after_a_restart()
    {
        var first = Start(Users);
        var token = await TokenAsync(first.Client, "alice", "alice-pw", "repository:alice/app:pull");
        var stored = Directory.GetFiles(Path.Combine(first.StorageRoot, "_auth", "token_keys", "rs256"));
        stored.Should().ContainSingle();
        await first.StopAsync();

        var htpasswd = Path.Combine(first.Root, "htpasswd");
        await using var second = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd", ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_TOKEN_SERVER"] = "true", ["REGISTRY_AUTH_TOKEN_SERVICE"] = Service,
        }, first.Root);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/alice/app/tags/list") { Headers = { Authorization = Bearer(token) } };
        using var response = await second.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(404);
        Header(await TokenAsync(second.Client, "alice", "alice-pw")).GetProperty("kid").GetString().Should().Be(Header(token).GetProperty("kid").GetString());
        Directory.GetFiles(Path.Combine(second.StorageRoot, "_auth", "token_keys", "rs256")).Should().Equal(stored);
    }

    [Test]
    public async Task A_configured_key_and_certificate_sign_the_tokens()
    {
        using var files = new TempDirectory();
        var (certificatePath, keyPath) = TestCertificate.Write(files.Path);
        await using var registry = Start(Users, new Dictionary<string, string>
        {
            ["REGISTRY_AUTH_TOKEN_KEY"] = keyPath, ["REGISTRY_AUTH_TOKEN_CERTIFICATE"] = certificatePath,
        });
        var token = await TokenAsync(registry.Client, "alice", "alice-pw", "repository:alice/app:pull");

        var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePath));
        Header(token).GetProperty("x5c")[0].GetString().Should().Be(Convert.ToBase64String(certificate.RawData));
        Header(token).GetProperty("kid").GetString().Should().Be(TokenSigningKeys.LibtrustKeyId(certificate));
        Directory.Exists(Path.Combine(registry.StorageRoot, "_auth", "token_keys")).Should().BeFalse();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/alice/app/tags/list") { Headers = { Authorization = Bearer(token) } };
        ((int)(await registry.Client.SendAsync(request)).StatusCode).Should().Be(404);
    }

    [Test]
    public async Task A_configured_key_that_does_not_suit_the_algorithm_stops_start_up_with_one_line()
    {
        using var files = new TempDirectory();
        var (certificatePath, keyPath) = TestCertificate.Write(files.Path);
        var htpasswd = files.File("htpasswd");
        await File.WriteAllTextAsync(htpasswd, "");
        var result = await RegistryProcess.RunOnceAsync(new Dictionary<string, string?>
        {
            ["SETTINGS_FLAVOR"] = "dev", ["STORAGE_PATH"] = files.File("storage"), ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + files.File("index.db"),
            ["REGISTRY_PORT"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["REGISTRY_AUTH"] = "htpasswd", ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd, ["REGISTRY_AUTH_TOKEN_SERVER"] = "true",
            ["REGISTRY_AUTH_TOKEN_KEY"] = keyPath, ["REGISTRY_AUTH_TOKEN_CERTIFICATE"] = certificatePath,
            ["REGISTRY_AUTH_TOKEN_SIGNING_ALGORITHM"] = "ES256",
        });
        result.ExitCode.Should().NotBe(0);
        result.Stderr.Trim().Should().EndWith(
            $"key \"auth.token_key\" (from $REGISTRY_AUTH_TOKEN_KEY=\"{keyPath}\"): the key does not suit ES256 (RS256 needs an RSA key, ES256 a P-256 key)");
    }

    [Test]
    public async Task Instances_starting_together_on_one_storage_accept_each_others_tokens()
    {
        var root = Path.Combine(Path.GetTempPath(), "registry-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var htpasswd = Path.Combine(root, "htpasswd");
        File.WriteAllLines(htpasswd, [Registry.Index.Accounts.HtpasswdFile.Line("alice", "alice-pw")]);
        var env = new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd", ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_TOKEN_SERVER"] = "true", ["REGISTRY_AUTH_TOKEN_SERVICE"] = Service,
        };
        await using var first = TestRegistry.Start(env, root);
        await using var second = TestRegistry.Start(new Dictionary<string, string>(env) { ["STORAGE_PATH"] = first.StorageRoot });

        var tokens = await Task.WhenAll(
            TokenAsync(first.Client, "alice", "alice-pw", "repository:alice/app:pull"),
            TokenAsync(second.Client, "alice", "alice-pw", "repository:alice/app:pull"));
        foreach (var (client, token) in new[] { (first.Client, tokens[1]), (second.Client, tokens[0]) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/alice/app/tags/list") { Headers = { Authorization = Bearer(token) } };
            ((int)(await client.SendAsync(request)).StatusCode).Should().Be(404);
        }
    }

    [Test]
    public async Task A_mount_needs_pull_on_the_source()
    {
        await using var registry = Start(Users);
        var blob = Encoding.UTF8.GetBytes("a layer to mount");
        var digest = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(blob));
        var source = await TokenAsync(registry.Client, "alice", "alice-pw", "repository:alice/src:pull,push");
        using (var put = new HttpRequestMessage(HttpMethod.Post, $"/v2/alice/src/blobs/uploads/?digest={digest}")
        {
            Content = new ByteArrayContent(blob), Headers = { Authorization = Bearer(source) },
        })
            ((int)(await registry.Client.SendAsync(put)).StatusCode).Should().Be(201);

        async Task<int> MountAsync(string token)
        {
            using var mount = new HttpRequestMessage(HttpMethod.Post, $"/v2/alice/dst/blobs/uploads/?mount={digest}&from=alice/src")
            {
                Headers = { Authorization = Bearer(token) },
            };
            using var response = await registry.Client.SendAsync(mount);
            return (int)response.StatusCode;
        }

        // Without pull on the source the blob is not mounted: an upload starts instead (distribution's behaviour).
        (await MountAsync(await TokenAsync(registry.Client, "alice", "alice-pw", "repository:alice/dst:pull,push"))).Should().Be(202);
        (await MountAsync(await TokenAsync(registry.Client, "alice", "alice-pw", "repository:alice/dst:pull,push", "repository:alice/src:pull"))).Should().Be(201);
    }

    [Test]
    public async Task V1_routes_and_search_accept_the_same_bearer_tokens()
    {
        await using var registry = Start(Users);
        var token = await TokenAsync(registry.Client, "alice", "alice-pw", "repository:alice/app:pull");

        using var tags = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/alice/app/tags") { Headers = { Authorization = Bearer(token) } };
        using var tagsResponse = await registry.Client.SendAsync(tags);
        ((int)tagsResponse.StatusCode).Should().Be(404);

        using var put = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/alice/app/tags/latest")
        {
            Content = new StringContent("\"" + new string('a', 64) + "\"", Encoding.UTF8, "application/json"),
            Headers = { Authorization = Bearer(token) },
        };
        using var putResponse = await registry.Client.SendAsync(put);
        ((int)putResponse.StatusCode).Should().Be(403);

        using var search = new HttpRequestMessage(HttpMethod.Get, "/v1/search?q=app") { Headers = { Authorization = Bearer(token) } };
        using var searchResponse = await registry.Client.SendAsync(search);
        ((int)searchResponse.StatusCode).Should().Be(200);

        using var forged = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/alice/app/tags");
        forged.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token[..^4] + "AAAA");
        using var forgedResponse = await registry.Client.SendAsync(forged);
        ((int)forgedResponse.StatusCode).Should().Be(401);
    }
}
