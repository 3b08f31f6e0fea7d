using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Accounts;

/// <summary>
/// <c>auth.backend: ldap</c> against a real slapd (<see cref="Slapd"/>): logins by bind template and by search, the
/// admin group, TLS (LDAPS and StartTLS with a CA file), throttling, access tokens of directory users, and a
/// directory that goes away (503, while cached logins go on).
/// </summary>
public class LdapTests
{
    private Slapd _slapd = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _slapd = await Slapd.SharedAsync();

    private static TestRegistry Start(Slapd slapd, params (string Name, string Value)[] ldap)
    {
        var env = new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "ldap",
            ["REGISTRY_AUTH_LDAP_URL"] = slapd.Url,
            ["REGISTRY_AUTH_LDAP_TIMEOUT"] = "3",
            ["REGISTRY_AUTH_MAX_FAILED_LOGINS"] = "1000",
        };
        foreach (var (name, value) in ldap) env[name] = value;
        return TestRegistry.Start(env);
    }

    private static (string Name, string Value) BindTemplate => ("REGISTRY_AUTH_LDAP_BIND_DN", "uid={username}," + Slapd.People);

    private static async Task<(int Status, string Body)> LoginAsync(TestRegistry registry, string user, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/users/");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        using var response = await registry.Client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private const string Wrong = "{\"error\": \"Wrong login/password\"}";

    [Test]
    public async Task A_bind_template_logs_in_good_passwords_only()
    {
        await using var registry = Start(_slapd, BindTemplate);

        (await LoginAsync(registry, "alice", "alice-pass")).Should().Be((200, "\"OK\""));
        (await LoginAsync(registry, "o'neil (x)", "oneil-pass")).Should().Be((200, "\"OK\""));
        (await LoginAsync(registry, "alice", "bob-pass")).Should().Be((401, Wrong));
        (await LoginAsync(registry, "nobody", "alice-pass")).Should().Be((401, Wrong));
        // An empty password would be an unauthenticated bind, which slapd accepts for any DN.
        (await LoginAsync(registry, "alice", "")).Should().Be((401, Wrong));
        (await LoginAsync(registry, "alice,ou=x", "alice-pass")).Should().Be((401, Wrong));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_search_finds_the_users_entry_and_escapes_the_name(bool boundSearch)
    {
        var settings = new List<(string, string)> { ("REGISTRY_AUTH_LDAP_SEARCH_BASE", Slapd.People), ("REGISTRY_AUTH_LDAP_SEARCH_FILTER", "(&(objectClass=inetOrgPerson)(uid={username}))") };
        if (boundSearch) settings.AddRange([("REGISTRY_AUTH_LDAP_SEARCH_BIND_DN", Slapd.RootDn), ("REGISTRY_AUTH_LDAP_SEARCH_BIND_PASSWORD", Slapd.RootPassword)]);
        await using var registry = Start(_slapd, [.. settings]);

        (await LoginAsync(registry, "bob", "bob-pass")).Should().Be((200, "\"OK\""));
        (await LoginAsync(registry, "o'neil (x)", "oneil-pass")).Should().Be((200, "\"OK\""));
        (await LoginAsync(registry, "bob", "alice-pass")).Should().Be((401, Wrong));
        (await LoginAsync(registry, "nobody", "bob-pass")).Should().Be((401, Wrong));
        // Unescaped, "a*" would find alice and log in with her password; "*" would match everyone.
        (await LoginAsync(registry, "a*", "alice-pass")).Should().Be((401, Wrong));
        (await LoginAsync(registry, "*", "alice-pass")).Should().Be((401, Wrong));
        (await LoginAsync(registry, "bob)(uid=*", "bob-pass")).Should().Be((401, Wrong));
    }

    [Test]
    public async Task Members_of_the_admin_group_may_push_to_another_namespace()
    {
        await using var registry = Start(_slapd, BindTemplate, ("REGISTRY_AUTH_LDAP_ADMIN_GROUP", Slapd.AdminGroup));
        async Task<int> CreateAsync(string user, string password, string repository)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/repositories/{repository}/") { Content = new StringContent("[]") };
            request.Headers.Authorization = TestRegistry.Basic(user, password);
            using var response = await registry.Client.SendAsync(request);
            return (int)response.StatusCode;
        }

        (await CreateAsync("carol", "carol-pass", "alice/fromcarol")).Should().Be(200);
        (await CreateAsync("bob", "bob-pass", "alice/frombob")).Should().Be(403);
        (await CreateAsync("bob", "bob-pass", "bob/own")).Should().Be(200);
        using var gc = new HttpRequestMessage(HttpMethod.Post, "/v1/_gc?dry_run=true");
        gc.Headers.Authorization = TestRegistry.Basic("bob", "bob-pass");
        ((int)(await registry.Client.SendAsync(gc)).StatusCode).Should().Be(403);
    }

    [Test]
    public async Task Members_of_the_admin_group_are_admins_in_the_web_interface_too()
    {
        await using var registry = Start(_slapd, BindTemplate, ("REGISTRY_AUTH_LDAP_ADMIN_GROUP", Slapd.AdminGroup));
        var carol = Registry.Tests.Web.UiClient.For(registry);
        var bob = Registry.Tests.Web.UiClient.For(registry);

        ((int)(await carol.LoginAsync("carol", "carol-pass")).StatusCode).Should().Be(302);
        ((int)(await bob.LoginAsync("bob", "bob-pass")).StatusCode).Should().Be(302);
        // The session carries the directory's mark of the login, so the admin pages need no directory round trip.
        ((int)(await carol.GetAsync("/ui/admin/gc")).StatusCode).Should().Be(200);
        carol.LastPage.Should().Contain("href=\"/ui/admin/users\"");
        ((int)(await carol.PostAsync("/ui/admin/gc", [new("mode", "dry")])).StatusCode).Should().Be(200);
        carol.LastPage.Should().Contain("<pre id=\"gc-report\">");
        ((int)(await carol.GetAsync("/ui/admin/users")).StatusCode).Should().Be(200);
        ((int)(await bob.GetAsync("/ui/admin/gc")).StatusCode).Should().Be(403);
        bob.LastPage.Should().NotContain("href=\"/ui/admin/gc\"");
        ((int)(await bob.GetAsync("/ui/admin/users")).StatusCode).Should().Be(403);
    }

    [TestCase(Slapd.PosixGroup, "bob", "bob-pass", "alice")]
    [TestCase(Slapd.UniqueGroup, "alice", "alice-pass", "bob")]
    public async Task Membership_counts_by_member_uid_and_unique_member_too(string group, string admin, string password, string other)
    {
        await using var registry = Start(_slapd, BindTemplate, ("REGISTRY_AUTH_LDAP_ADMIN_GROUP", group));
        async Task<int> CreateAsync(string user, string pass, string repository)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/repositories/{repository}/") { Content = new StringContent("[]") };
            request.Headers.Authorization = TestRegistry.Basic(user, pass);
            using var response = await registry.Client.SendAsync(request);
            return (int)response.StatusCode;
        }

        (await CreateAsync(admin, password, $"{other}/fromadmin")).Should().Be(200);
        (await CreateAsync("carol", "carol-pass", $"{other}/fromcarol")).Should().Be(403);
    }

    [Test]
    public async Task A_directory_user_logs_in_with_an_access_token()
    {
        await using var registry = Start(_slapd, BindTemplate);
        using var create = new HttpRequestMessage(HttpMethod.Post, "/v1/users/alice/tokens")
        {
            Content = new StringContent("{\"name\": \"ci\", \"scopes\": [{\"repository\": \"alice/*\", \"actions\": [\"pull\", \"push\"]}]}"),
        };
        create.Headers.Authorization = TestRegistry.Basic("alice", "alice-pass");
        using var created = await registry.Client.SendAsync(create);
        ((int)created.StatusCode).Should().Be(201);
        var secret = (string)System.Text.Json.Nodes.JsonNode.Parse(await created.Content.ReadAsStringAsync())!["token"]!;

        (await LoginAsync(registry, "alice", secret)).Should().Be((200, "\"OK\""));
        (await LoginAsync(registry, "bob", secret)).Should().Be((401, Wrong));
    }

    [Test]
    public async Task Failed_logins_are_throttled()
    {
        await using var registry = Start(_slapd, BindTemplate, ("REGISTRY_AUTH_MAX_FAILED_LOGINS", "2"));

        (await LoginAsync(registry, "alice", "nope1")).Status.Should().Be(401);
        (await LoginAsync(registry, "alice", "nope2")).Status.Should().Be(401);
        (await LoginAsync(registry, "alice", "alice-pass")).Should().Be((429, "{\"error\": \"Too many failed logins from this address, retry later\"}"));
    }

    [Test]
    public async Task Ldaps_and_starttls_check_the_server_against_the_ca_file()
    {
        await using (var ldaps = Start(_slapd, BindTemplate, ("REGISTRY_AUTH_LDAP_URL", _slapd.LdapsUrl), ("REGISTRY_AUTH_LDAP_CA_FILE", _slapd.CaFile)))
        {
            (await LoginAsync(ldaps, "alice", "alice-pass")).Should().Be((200, "\"OK\""));
            (await LoginAsync(ldaps, "alice", "bob-pass")).Should().Be((401, Wrong));
        }
        await using (var startTls = Start(_slapd, BindTemplate, ("REGISTRY_AUTH_LDAP_STARTTLS", "true"), ("REGISTRY_AUTH_LDAP_CA_FILE", _slapd.CaFile)))
        {
            (await LoginAsync(startTls, "bob", "bob-pass")).Should().Be((200, "\"OK\""));
        }
        // Without the CA the server's certificate is not trusted: the directory cannot be used, which is not a wrong password.
        // (For StartTLS this also shows that TLS is really started, not skipped.)
        await using (var untrusted = Start(_slapd, BindTemplate, ("REGISTRY_AUTH_LDAP_URL", _slapd.LdapsUrl)))
        {
            (await LoginAsync(untrusted, "alice", "alice-pass")).Should().Be((503, "{\"error\": \"Account directory unavailable, retry later\"}"));
        }
        await using (var untrusted = Start(_slapd, BindTemplate, ("REGISTRY_AUTH_LDAP_STARTTLS", "true")))
        {
            (await LoginAsync(untrusted, "alice", "alice-pass")).Should().Be((503, "{\"error\": \"Account directory unavailable, retry later\"}"));
        }
    }

    [Test]
    public async Task A_stopped_directory_is_503_while_cached_logins_go_on()
    {
        await using var slapd = await Slapd.StartDedicatedAsync();
        await using var registry = Start(slapd, BindTemplate);
        (await LoginAsync(registry, "alice", "alice-pass")).Should().Be((200, "\"OK\""));

        await slapd.StopAsync();

        (await LoginAsync(registry, "alice", "alice-pass")).Should().Be((200, "\"OK\""));
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/bob/app/") { Content = new StringContent("[]") };
        request.Headers.Authorization = TestRegistry.Basic("bob", "bob-pass");
        using var response = await registry.Client.SendAsync(request);
        ((int)response.StatusCode, await response.Content.ReadAsStringAsync())
            .Should().Be((503, "{\"error\": \"Account directory unavailable, retry later\"}"));
        response.Headers.RetryAfter!.ToString().Should().Be("5");
        using var v2 = new HttpRequestMessage(HttpMethod.Get, "/v2/");
        v2.Headers.Authorization = TestRegistry.Basic("bob", "bob-pass");
        using var v2Response = await registry.Client.SendAsync(v2);
        ((int)v2Response.StatusCode).Should().Be(503);
    }
}

/// <summary>The <c>auth.ldap</c> settings: what start-up refuses, in one line naming the key.</summary>
public class LdapSettingsTests : ConfigTestBase
{
    private string Error(params (string Name, string? Value)[] variables)
    {
        var act = () => LoadSample(variables);
        return act.Should().Throw<ConfigException>().Which.Message;
    }

    [Test]
    public void The_sample_reads_every_key()
    {
        var ldap = LoadSample(("REGISTRY_AUTH", "ldap"), ("REGISTRY_AUTH_LDAP_URL", "ldaps://ldap.example.org"),
            ("REGISTRY_AUTH_LDAP_SEARCH_BASE", "ou=people,dc=example,dc=org"), ("REGISTRY_AUTH_LDAP_SEARCH_BIND_DN", "cn=reader"),
            ("REGISTRY_AUTH_LDAP_SEARCH_BIND_PASSWORD", "pw"), ("REGISTRY_AUTH_LDAP_ADMIN_GROUP", "cn=admins"), ("REGISTRY_AUTH_LDAP_TIMEOUT", "7")).Auth;

        ldap.Backend.Should().Be("ldap");
        ldap.Ldap.Should().BeEquivalentTo(new LdapSettings
        {
            Url = new Uri("ldaps://ldap.example.org"),
            SearchBase = "ou=people,dc=example,dc=org",
            SearchFilter = "(uid={username})",
            SearchBindDn = "cn=reader",
            SearchBindPassword = "pw",
            AdminGroup = "cn=admins",
            Timeout = TimeSpan.FromSeconds(7),
        });
    }

    [Test]
    public void A_missing_url_names_the_key() =>
        Error(("REGISTRY_AUTH", "ldap"), ("REGISTRY_AUTH_LDAP_BIND_DN", "uid={username}")).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"auth.ldap.url\" (from $REGISTRY_AUTH_LDAP_URL, unset, default \"\"): " +
            "required when auth.backend is ldap (ldap://host:389 or ldaps://host:636)");

    [Test]
    public void Missing_bind_settings_name_the_key() =>
        Error(("REGISTRY_AUTH", "ldap"), ("REGISTRY_AUTH_LDAP_URL", "ldap://127.0.0.1")).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"auth.ldap.bind_dn\" (from $REGISTRY_AUTH_LDAP_BIND_DN, unset, default \"\"): " +
            "required (or auth.ldap.search_base) when auth.backend is ldap, e.g. uid={username},ou=people,dc=example,dc=org");

    [TestCase("REGISTRY_AUTH_LDAP_URL", "http://ldap.example.org", "auth.ldap.url")]
    [TestCase("REGISTRY_AUTH_LDAP_BIND_DN", "uid=alice,dc=example", "auth.ldap.bind_dn")]
    [TestCase("REGISTRY_AUTH_LDAP_SEARCH_FILTER", "uid={username}", "auth.ldap.search_filter")]
    [TestCase("REGISTRY_AUTH_LDAP_STARTTLS", "maybe", "auth.ldap.starttls")]
    [TestCase("REGISTRY_AUTH_LDAP_CA_FILE", "/nonexistent/ca.pem", "auth.ldap.ca_file")]
    [TestCase("REGISTRY_AUTH_LDAP_TIMEOUT", "0", "auth.ldap.timeout_seconds")]
    [TestCase("REGISTRY_AUTH_SIGNUP", "true", "auth.signup")]
    public void A_bad_value_names_its_key(string variable, string value, string key)
    {
        var variables = new Dictionary<string, string?>
        {
            ["REGISTRY_AUTH"] = "ldap",
            ["REGISTRY_AUTH_LDAP_URL"] = "ldap://127.0.0.1",
            ["REGISTRY_AUTH_LDAP_BIND_DN"] = "uid={username},dc=example",
            [variable] = value,
        };
        Error([.. variables.Select(v => (v.Key, v.Value))]).Should().Contain($"key \"{key}\" (from ${variable}=");
    }
}
