using System.Text.RegularExpressions;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Web;

/// <summary>
/// The account page through HTTP against the real app with htpasswd users: access tokens created, listed and revoked
/// through the forms, and used as Basic passwords on the API; the admin user list with its sources.
/// </summary>
public partial class UiAccountTests
{
    private static readonly Dictionary<string, string> Env = new()
    {
        ["REGISTRY_AUTH_ADMINS"] = "root",
        ["REGISTRY_AUTH_SIGNUP"] = "true",
        ["REGISTRY_AUTH_MAX_FAILED_LOGINS"] = "1000",
    };

    private static TestRegistry Start() => TestRegistry.StartWithHtpasswd(["alice:alice-pw", "bob:bob-pw", "root:root-pw"], Env);

    private static async Task<UiClient> LoggedInAsync(TestRegistry registry, string user)
    {
        var ui = UiClient.For(registry);
        using var login = await ui.LoginAsync(user, user + "-pw");
        ((int)login.StatusCode).Should().Be(302);
        return ui;
    }

    private static async Task<int> V2StatusAsync(TestRegistry registry, string user, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { Authorization = TestRegistry.Basic(user, password) } };
        using var response = await registry.Client.SendAsync(request);
        return (int)response.StatusCode;
    }

    private static List<KeyValuePair<string, string>> TokenFields(string name, string repository, string expires = "", params string[] actions)
    {
        var fields = new List<KeyValuePair<string, string>> { new("name", name), new("repository0", repository), new("expires", expires) };
        fields.AddRange(actions.Select(a => new KeyValuePair<string, string>(a + "0", "true")));
        return fields;
    }

    [Test]
    public async Task A_token_created_through_the_form_is_shown_once_works_as_a_password_and_stops_when_revoked()
    {
        await using var registry = Start();
        var alice = await LoggedInAsync(registry, "alice");
        await alice.GetAsync("/ui/");
        alice.LastPage.Should().Contain("<a href=\"/ui/account\">Account</a>");

        using (var page = await alice.GetAsync("/ui/account"))
        {
            ((int)page.StatusCode).Should().Be(200);
            alice.LastPage.Should().Contain("<h1>Account of alice</h1>").And.Contain("No access tokens.").And.Contain("action=\"/ui/account/tokens\"");
        }
        using (var created = await alice.PostAsync("/ui/account/tokens", TokenFields("ci", "alice/app", "2099-01-31", "pull", "push")))
        {
            ((int)created.StatusCode).Should().Be(200);
            created.Headers.CacheControl!.NoStore.Should().BeTrue();
        }
        var secret = SecretPattern().Match(alice.LastPage!).Groups[1].Value;
        secret.Should().MatchRegex("^rgt_[A-Za-z0-9_-]{43}$");
        alice.LastPage.Should().Contain("<h1>Access token ci created</h1>").And.Contain("shown only this once")
            .And.Contain("<button type=\"button\" class=\"copy\" data-copy=\"token-secret\" hidden>Copy</button>");

        (await V2StatusAsync(registry, "alice", secret)).Should().Be(200);
        (await V2StatusAsync(registry, "bob", secret)).Should().Be(401, "a secret works with its own user name only");

        await alice.GetAsync("/ui/account");
        var list = alice.LastPage!;
        list.Should().NotContain(secret).And.NotContain("rgt_");
        list.Should().Contain("<tr data-token=\"ci\"><td>ci</td><td><code>alice/app</code> pull, push<br></td>");
        list.Should().Contain("<time datetime=\"2099-01-31T00:00:00Z\">2099-01-31 00:00:00 UTC</time>");
        var id = Regex.Match(list, "name=\"id\" value=\"([^\"]+)\"><button type=\"submit\" class=\"danger\" aria-label=\"Revoke access token ci\"").Groups[1].Value;
        id.Should().NotBeEmpty();

        var bob = await LoggedInAsync(registry, "bob");
        ((int)(await bob.GetAsync("/ui/account/revoke?id=" + id)).StatusCode).Should().Be(404, "bob has no token with that id");
        await bob.GetAsync("/ui/account");
        ((int)(await bob.PostAsync("/ui/account/revoke", [new("id", id)])).StatusCode).Should().Be(404);
        (await V2StatusAsync(registry, "alice", secret)).Should().Be(200, "bob could not revoke alice's token");

        using (var confirm = await alice.GetAsync("/ui/account/revoke?id=" + id))
        {
            ((int)confirm.StatusCode).Should().Be(200);
            alice.LastPage.Should().Contain("Revoke <strong>ci</strong>?").And.Contain($"<input type=\"hidden\" name=\"id\" value=\"{id}\">");
        }
        ((int)(await alice.PostAsync("/ui/account/revoke", [new("id", id)], withCsrf: false)).StatusCode).Should().Be(403);
        (await V2StatusAsync(registry, "alice", secret)).Should().Be(200, "a POST without the CSRF token revokes nothing");
        await alice.GetAsync("/ui/account/revoke?id=" + id);
        using (var revoked = await alice.PostAsync("/ui/account/revoke", [new("id", id)]))
        {
            ((int)revoked.StatusCode).Should().Be(302);
            revoked.Headers.Location!.OriginalString.Should().Be("/ui/account");
        }
        (await V2StatusAsync(registry, "alice", secret)).Should().Be(401);
        await alice.GetAsync("/ui/account");
        alice.LastPage.Should().Contain("No access tokens.").And.NotContain("data-token=\"ci\"");
        ((int)(await alice.PostAsync("/ui/account/revoke", [new("id", id)])).StatusCode).Should().Be(404);
    }

    [Test]
    public async Task Refusals_of_the_service_come_back_as_a_message_with_the_form_kept()
    {
        await using var registry = Start();
        var alice = await LoggedInAsync(registry, "alice");
        await alice.GetAsync("/ui/account");

        ((int)(await alice.PostAsync("/ui/account/tokens", TokenFields("-bad name", "alice/kept", "", "push"))).StatusCode).Should().Be(400);
        alice.LastPage.Should().Contain("<p class=\"error\" role=\"alert\">Invalid name (must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$)</p>")
            .And.Contain("name=\"name\" required maxlength=\"64\" value=\"-bad name\"")
            .And.Contain("name=\"repository0\" required value=\"alice/kept\"")
            .And.Contain("name=\"push0\" value=\"true\" checked").And.Contain("name=\"pull0\" value=\"true\">");
        ((int)(await alice.PostAsync("/ui/account/tokens", TokenFields("nothing", "alice/app"))).StatusCode).Should().Be(400, "a scope needs an action");
        alice.LastPage.Should().Contain("Invalid scopes");
        ((int)(await alice.PostAsync("/ui/account/tokens", TokenFields("old", "alice/app", "2001-01-01", "pull"))).StatusCode).Should().Be(400);
        alice.LastPage.Should().Contain("Invalid expires_at").And.Contain("value=\"2001-01-01\"");

        ((int)(await alice.PostAsync("/ui/account/tokens", TokenFields("deploy", "alice/*", "", "pull"))).StatusCode).Should().Be(200);
        await alice.GetAsync("/ui/account");
        ((int)(await alice.PostAsync("/ui/account/tokens", TokenFields("deploy", "alice/app", "", "pull"))).StatusCode).Should().Be(409);
        alice.LastPage.Should().Contain("An access token with that name already exists.").And.Contain("<tr data-token=\"deploy\">");

        using var api = new HttpClient(registry.CreateHandler()) { BaseAddress = registry.Client.BaseAddress };
        api.DefaultRequestHeaders.Authorization = TestRegistry.Basic("alice", "alice-pw");
        for (var i = 0; i < 99; i++)
        {
            using var content = new StringContent($"{{\"name\": \"bulk{i}\", \"scopes\": [{{\"repository\": \"alice/app\", \"actions\": [\"pull\"]}}]}}");
            ((int)(await api.PostAsync("/v1/users/alice/tokens", content)).StatusCode).Should().Be(201);
        }
        ((int)(await alice.PostAsync("/ui/account/tokens", TokenFields("one-more", "alice/app", "", "pull"))).StatusCode).Should().Be(400);
        alice.LastPage.Should().Contain("Too many access tokens (at most 100 per user); revoke some first").And.Contain("value=\"one-more\"");
    }

    [Test]
    public async Task Forms_need_the_session_csrf_token_and_a_login()
    {
        await using var registry = Start();
        var alice = await LoggedInAsync(registry, "alice");
        await alice.GetAsync("/ui/account");
        ((int)(await alice.PostAsync("/ui/account/tokens", TokenFields("ci", "alice/app", "", "pull"), withCsrf: false)).StatusCode).Should().Be(403);
        alice.LastPage.Should().Contain("CSRF");
        await alice.GetAsync("/ui/account");
        alice.LastPage.Should().Contain("No access tokens.");

        var anonymous = UiClient.For(registry);
        using (var redirected = await anonymous.GetAsync("/ui/account"))
        {
            ((int)redirected.StatusCode).Should().Be(302);
            redirected.Headers.Location!.OriginalString.Should().Be("/ui/login?return=%2Fui%2Faccount");
        }
        await anonymous.GetAsync("/ui/login?return=%2Fui%2Faccount");
        anonymous.LastPage.Should().Contain("name=\"return\" value=\"/ui/account\"").And.NotContain("href=\"/ui/account\"");
        ((int)(await anonymous.PostAsync("/ui/account/tokens", TokenFields("ci", "alice/app", "", "pull"))).StatusCode).Should().Be(401);
        ((int)(await anonymous.PostAsync("/ui/account/revoke", [new("id", "x")])).StatusCode).Should().Be(401);
    }

    [Test]
    public async Task An_access_token_secret_cannot_log_in_to_the_web_interface()
    {
        await using var registry = Start();
        var alice = await LoggedInAsync(registry, "alice");
        await alice.GetAsync("/ui/account");
        await alice.PostAsync("/ui/account/tokens", TokenFields("robot", "alice/app", "", "pull"));
        var secret = SecretPattern().Match(alice.LastPage!).Groups[1].Value;
        (await V2StatusAsync(registry, "alice", secret)).Should().Be(200);

        var robot = UiClient.For(registry);
        using (var refused = await robot.LoginAsync("alice", secret))
        {
            ((int)refused.StatusCode).Should().Be(401);
            robot.LastPage.Should().Contain("Access tokens cannot log in here: use your password.");
        }
        using var account = await robot.GetAsync("/ui/account");
        ((int)account.StatusCode).Should().Be(302, "the robot's browser is still anonymous");
    }

    [Test]
    public async Task With_authentication_off_the_account_page_says_accounts_are_off()
    {
        await using var registry = TestRegistry.Start();
        var ui = UiClient.For(registry);
        ((int)(await ui.GetAsync("/ui/account")).StatusCode).Should().Be(404);
        ui.LastPage.Should().Contain("<h1>Accounts are off</h1>").And.NotContain("href=\"/ui/account\"");
    }

    [Test]
    public async Task The_admin_user_list_shows_htpasswd_users_and_index_accounts_with_their_source()
    {
        await using var registry = Start();
        using var signUp = new StringContent("{\"username\": \"carol\", \"password\": \"carol-pw\", \"email\": \"carol@example.com\"}");
        ((int)(await registry.Client.PostAsync("/v1/users/", signUp)).StatusCode).Should().Be(201);

        var root = await LoggedInAsync(registry, "root");
        ((int)(await root.GetAsync("/ui/admin/users")).StatusCode).Should().Be(200);
        var page = root.LastPage!;
        page.Should().Contain("<tr><td>alice</td><td>htpasswd</td><td>–</td><td>–</td></tr>")
            .And.Contain("<tr><td>bob</td><td>htpasswd</td>").And.Contain("<tr><td>root</td><td>htpasswd</td>")
            .And.Contain("<tr><td>carol</td><td>index database</td><td>carol@example.com</td><td>" + DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) + "</td></tr>")
            .And.NotContain("LDAP");
        page.IndexOf("<td>alice</td>", StringComparison.Ordinal).Should().BeLessThan(page.IndexOf("<td>bob</td>", StringComparison.Ordinal));

        var alice = await LoggedInAsync(registry, "alice");
        ((int)(await alice.GetAsync("/ui/admin/users")).StatusCode).Should().Be(403);
    }

    [Test]
    public async Task An_admin_sees_every_users_tokens_and_revokes_one_that_is_not_their_own()
    {
        await using var registry = Start();
        var alice = await LoggedInAsync(registry, "alice");
        await alice.GetAsync("/ui/account");
        ((int)(await alice.PostAsync("/ui/account/tokens", TokenFields("ci", "alice/app", "", "pull"))).StatusCode).Should().Be(200);
        var secret = SecretPattern().Match(alice.LastPage!).Groups[1].Value;
        var bob = await LoggedInAsync(registry, "bob");
        await bob.GetAsync("/ui/account");
        ((int)(await bob.PostAsync("/ui/account/tokens", TokenFields("deploy", "bob/*", "", "pull", "push"))).StatusCode).Should().Be(200);

        ((int)(await alice.GetAsync("/ui/admin/tokens")).StatusCode).Should().Be(403);
        alice.LastPage.Should().NotContain("data-token=\"deploy\"");
        var root = await LoggedInAsync(registry, "root");
        await root.GetAsync("/ui/admin/users");
        root.LastPage.Should().Contain("<a href=\"/ui/admin/tokens\">Every user's access tokens</a>");
        ((int)(await root.GetAsync("/ui/admin/tokens")).StatusCode).Should().Be(200);
        var list = root.LastPage!;
        list.Should().Contain("<tr data-token=\"ci\"><td>alice</td><td>ci</td><td><code>alice/app</code> pull<br></td>")
            .And.Contain("<tr data-token=\"deploy\"><td>bob</td><td>deploy</td><td><code>bob/*</code> pull, push<br></td>").And.NotContain("rgt_");
        var id = Regex.Match(list, "name=\"id\" value=\"([^\"]+)\"><button type=\"submit\" class=\"danger\" aria-label=\"Revoke access token ci of alice\"").Groups[1].Value;
        id.Should().NotBeEmpty();

        ((int)(await root.GetAsync("/ui/account/revoke?id=" + id)).StatusCode).Should().Be(200);
        root.LastPage.Should().Contain("Revoke <strong>ci</strong> of <strong>alice</strong>?").And.Contain("<a href=\"/ui/admin/tokens\">Cancel</a>");
        using (var revoked = await root.PostAsync("/ui/account/revoke", [new("id", id)]))
        {
            ((int)revoked.StatusCode).Should().Be(302);
            revoked.Headers.Location!.OriginalString.Should().Be("/ui/admin/tokens");
        }
        (await V2StatusAsync(registry, "alice", secret)).Should().Be(401);
        await root.GetAsync("/ui/admin/tokens");
        root.LastPage.Should().NotContain("data-token=\"ci\"").And.Contain("data-token=\"deploy\"");
        ((int)(await bob.GetAsync("/ui/account/revoke?id=" + id)).StatusCode).Should().Be(404, "only an admin reaches another user's token");
    }

    [GeneratedRegex("<code id=\"token-secret\">([^<]+)</code>")]
    private static partial Regex SecretPattern();
}
