using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;
using Registry.V1.Web;

namespace Registry.Tests.Web;

/// <summary>The web interface through HTTP against the real app: status codes, headers, and the content in the HTML.</summary>
public class UiHttpTests
{
    private static readonly Dictionary<string, string> AliceAndBob = new(V2Seed.DeleteEnabled) { ["REGISTRY_AUTH_ANONYMOUS_READ"] = "true" };

    [Test]
    public async Task A_browser_asking_for_the_root_is_sent_to_the_ui_and_api_clients_keep_the_original_answer()
    {
        await using var registry = TestRegistry.Start();
        using var browser = new HttpRequestMessage(HttpMethod.Get, "/");
        browser.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");
        using var redirected = await registry.Client.SendAsync(browser);
        ((int)redirected.StatusCode).Should().Be(302);
        redirected.Headers.Location!.OriginalString.Should().Be("/ui/");
        redirected.Header("Vary").Should().Be("Accept");

        using var api = await registry.Client.GetAsync("/");
        ((int)api.StatusCode).Should().Be(200);
        (await api.Content.ReadAsStringAsync()).Should().Contain("docker-registry server");
    }

    [Test]
    public async Task Pages_send_a_strict_policy_and_are_never_cached()
    {
        await using var registry = TestRegistry.Start();
        using var response = await registry.Client.GetAsync("/ui/");

        ((int)response.StatusCode).Should().Be(200);
        response.Content.Headers.ContentType!.ToString().Should().Be("text/html; charset=utf-8");
        response.Header("Content-Security-Policy").Should().Be(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
        response.Header("X-Content-Type-Options").Should().Be("nosniff");
        response.Header("X-Frame-Options").Should().Be("DENY");
        response.Header("Cache-Control").Should().Be("no-store");
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("registry_ui=", StringComparison.Ordinal));
        cookie.Should().Contain("path=/ui").And.Contain("samesite=lax").And.Contain("httponly");
        (await response.Content.ReadAsStringAsync()).Should().NotContain("<script>").And.NotContain(" style=");
    }

    [Test]
    public async Task Assets_are_served_under_their_content_hash_with_a_long_cache()
    {
        await using var registry = TestRegistry.Start();
        var page = await registry.Client.GetStringAsync("/ui/");
        var css = Regex.Match(page, "href=\"(/ui/assets/app\\.[0-9a-f]{16}\\.css)\"").Groups[1].Value;
        var js = Regex.Match(page, "src=\"(/ui/assets/app\\.[0-9a-f]{16}\\.js)\"").Groups[1].Value;

        using var style = await registry.Client.GetAsync(css);
        ((int)style.StatusCode).Should().Be(200);
        style.Header("Cache-Control").Should().Be("public, max-age=31536000, immutable");
        style.Content.Headers.ContentType!.ToString().Should().Be("text/css; charset=utf-8");
        var etag = style.Header("ETag")!;
        etag.Should().Be("\"" + css.Split('.')[1] + "\"");
        using var script = await registry.Client.GetAsync(js);
        script.Content.Headers.ContentType!.ToString().Should().Be("text/javascript; charset=utf-8");
        var icon = Regex.Match(page, "rel=\"icon\" type=\"image/svg\\+xml\" href=\"(/ui/assets/icon\\.[0-9a-f]{16}\\.svg)\"").Groups[1].Value;
        using var iconResponse = await registry.Client.GetAsync(icon);
        ((int)iconResponse.StatusCode).Should().Be(200, icon);
        iconResponse.Content.Headers.ContentType!.ToString().Should().Be("image/svg+xml");

        using var conditional = new HttpRequestMessage(HttpMethod.Get, css);
        conditional.Headers.TryAddWithoutValidation("If-None-Match", etag);
        ((int)(await registry.Client.SendAsync(conditional)).StatusCode).Should().Be(304);
        ((int)(await registry.Client.GetAsync("/ui/assets/app.0000000000000000.css")).StatusCode).Should().Be(404);
    }

    [Test]
    public async Task Search_lists_matches_in_relevance_order_with_paging_links()
    {
        await using var registry = TestRegistry.Start();
        for (var i = 0; i < 25; i++) await V2Seed.PushImageAsync(registry, $"team/tool{i:D2}", "latest");
        await V2Seed.PushImageAsync(registry, "library/tool", "latest");

        var ui = UiClient.For(registry);
        using var first = await ui.GetAsync("/ui/search?q=tool");
        ((int)first.StatusCode).Should().Be(200);
        var names = Regex.Matches(ui.LastPage!, "class=\"repo\" href=\"/ui/r/([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        names.Should().HaveCount(UiSearch.PageSize);
        names[0].Should().Be("library/tool", "the repository part equal to the term ranks first");
        ui.LastPage.Should().Contain("26 repositories, page 1 of 2").And.Contain("href=\"/ui/search?q=tool&amp;page=2\"").And.NotContain("rel=\"prev\"");

        using var second = await ui.GetAsync("/ui/search?q=tool&page=2");
        Regex.Matches(ui.LastPage!, "class=\"repo\"").Count.Should().Be(6);
        ui.LastPage.Should().Contain("href=\"/ui/search?q=tool&amp;page=1\"").And.NotContain("rel=\"next\"");
        ((int)(await ui.GetAsync("/ui/search?q=" + new string('x', 256))).StatusCode).Should().Be(400);
    }

    [Test]
    public async Task The_repository_page_shows_tags_platforms_history_and_the_pull_command()
    {
        await using var registry = TestRegistry.Start();
        var single = await V2Seed.PushImageAsync(registry, "team/app", "1.0");
        var index = V2Seed.Index(Registry.Core.Distribution.ManifestDocument.OciIndex, single);
        await registry.Client.PushManifestAsync("team/app", "multi", index);
        var ui = UiClient.For(registry);

        using var response = await ui.GetAsync("/ui/r/team/app?tag=1.0");
        ((int)response.StatusCode).Should().Be(200);
        var page = ui.LastPage!;
        page.Should().Contain("<code id=\"pull-command\">docker pull localhost/team/app:1.0</code>");
        page.Should().Contain($"title=\"{single.Digest}\"").And.Contain($"title=\"{index.Digest}\"");
        page.Should().Contain("linux/amd64").And.Contain("<h2 id=\"history\">History of 1.0</h2>");
        page.Should().Contain("300 B", "the layer's size is in the history");
        page.Should().NotContain("Delete this repository", "deletion is disabled by default");

        ((int)(await ui.GetAsync("/ui/r/busybox")).StatusCode).Should().Be(302);
        ((int)(await ui.GetAsync("/ui/r/team/nothing")).StatusCode).Should().Be(404);
        ((int)(await ui.GetAsync("/ui/r/Bad..Name/x")).StatusCode).Should().Be(404);
    }

    [Test]
    public async Task A_v1_tag_shows_its_image_id_and_ancestry_and_search_finds_the_image_id()
    {
        await using var registry = TestRegistry.Start();
        var (parent, child) = (V1Client.NewImageId(), V1Client.NewImageId());
        await registry.Client.PushImageAsync(parent, V1Client.RandomBytes(1000));
        await registry.Client.PushImageAsync(child, V1Client.RandomBytes(2000), parent);
        ((int)(await registry.Client.PutTagAsync("old/school", "latest", child)).StatusCode).Should().Be(200);
        ((int)(await registry.Client.PutIndexAsync("/v1/repositories/old/school/images", $"[{{\"id\": \"{child}\"}}, {{\"id\": \"{parent}\"}}]")).StatusCode).Should().BeOneOf(200, 204);
        var ui = UiClient.For(registry);

        await ui.GetAsync("/ui/r/old/school");
        ui.LastPage.Should().Contain($"title=\"{child}\"").And.Contain($"title=\"{parent}\"").And.Contain(">V1</span>");
        await ui.GetAsync("/ui/search?q=" + parent);
        ui.LastPage.Should().Contain("href=\"/ui/r/old/school?tag=\"");
    }

    [Test]
    public async Task Search_by_digest_and_by_tag_name_finds_the_holders()
    {
        await using var registry = TestRegistry.Start();
        var manifest = await V2Seed.PushImageAsync(registry, "team/app", "release-7");
        await V2Seed.PushImageAsync(registry, "team/other", "latest");
        var ui = UiClient.For(registry);

        await ui.GetAsync("/ui/search?q=" + manifest.Digest);
        ui.LastPage.Should().Contain("href=\"/ui/r/team/app?tag=release-7\"").And.NotContain("/ui/r/team/other?tag");
        await ui.GetAsync("/ui/search?q=tag:release-7");
        ui.LastPage.Should().Contain("href=\"/ui/r/team/app?tag=release-7\"").And.NotContain("/ui/r/team/other?tag");
    }

    [Test]
    public async Task A_tag_search_with_more_holders_than_a_page_links_to_the_rest()
    {
        await using var registry = TestRegistry.Start();
        var image = V1Client.NewImageId();
        await registry.Client.PushImageAsync(image, V1Client.RandomBytes(100));
        var holders = Enumerable.Range(0, UiSearch.MaxMatches + 3).Select(i => $"team/r{i:D2}").ToList();
        foreach (var holder in holders) ((int)(await registry.Client.PutTagAsync(holder, "release-7", image)).StatusCode).Should().Be(200);
        ((int)(await registry.Client.PutTagAsync("team/zz-other", "latest", image)).StatusCode).Should().Be(200);
        var ui = UiClient.For(registry);

        ((int)(await ui.GetAsync("/ui/search?q=tag:release-7")).StatusCode).Should().Be(200);
        var first = TagLinks(ui.LastPage!);
        first.Should().HaveCount(UiSearch.MaxMatches);
        ui.LastPage.Should().Contain($"<p class=\"muted\" id=\"scan-status\">Looked through repositories 1–{UiSearch.MaxMatches} of {holders.Count + 1}.")
            .And.Contain($"<a rel=\"next\" id=\"scan-next\" href=\"/ui/search?q=tag%3Arelease-7&amp;from={UiSearch.MaxMatches}\">Look through the next 4 →</a>");

        ((int)(await ui.GetAsync($"/ui/search?q=tag:release-7&from={UiSearch.MaxMatches}")).StatusCode).Should().Be(200);
        var rest = TagLinks(ui.LastPage!);
        rest.Should().HaveCount(3);
        ui.LastPage.Should().Contain($"Looked through repositories {UiSearch.MaxMatches + 1}–{holders.Count + 1} of {holders.Count + 1}.</p>").And.NotContain("scan-next");
        first.Concat(rest).Should().BeEquivalentTo(holders.Select(h => $"/ui/r/{h}?tag=release-7"));

        await ui.GetAsync("/ui/search?q=tag:no-such-tag");
        ui.LastPage.Should().Contain($"None found in repositories 1–{holders.Count + 1} of {holders.Count + 1}.</p>");
    }

    private static List<string> TagLinks(string page) =>
        System.Text.RegularExpressions.Regex.Matches(page, "<li><a href=\"(/ui/r/[^\"]+\\?tag=[^\"]*)\">").Select(m => m.Groups[1].Value).ToList();

    [Test]
    public async Task A_description_with_script_and_a_javascript_link_is_rendered_inert()
    {
        await using var registry = TestRegistry.Start();
        await V2Seed.PushImageAsync(registry, "team/app", "latest");
        var description = "<script>alert(1)</script> **bold** [click](javascript:alert(2)) [ok](https://example.com/)";
        var body = System.Text.Json.JsonSerializer.Serialize(new { description });
        ((int)(await registry.Client.PutAsync("/v1/repositories/team/app/properties", new StringContent(body))).StatusCode).Should().Be(200);

        var ui = UiClient.For(registry);
        await ui.GetAsync("/ui/r/team/app");
        var page = ui.LastPage!;
        page.Should().Contain("&lt;script&gt;alert(1)&lt;/script&gt;").And.Contain("<strong>bold</strong>");
        page.Should().Contain("<a href=\"#\">click</a>").And.Contain("<a href=\"https://example.com/\">ok</a>");
        page.Should().NotContain("<script>alert").And.NotContain("javascript:");
    }

    [Test]
    public async Task A_post_without_the_session_csrf_token_is_refused()
    {
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw"]);
        var ui = UiClient.For(registry);
        (await ui.GetAsync("/ui/login")).Dispose();

        ((int)(await ui.PostAsync("/ui/login", [new("user", "alice"), new("password", "alice-pw")], withCsrf: false)).StatusCode).Should().Be(403);
        ((int)(await ui.PostAsync("/ui/login", [new("user", "alice"), new("password", "alice-pw"), new("_csrf", "forged")], withCsrf: false)).StatusCode).Should().Be(403);
        using var raw = await registry.Client.PostAsync("/ui/logout", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        ((int)raw.StatusCode).Should().Be(403);
        ui.LastPage.Should().Contain("CSRF");
    }

    [Test]
    public async Task Failed_logins_on_the_page_count_towards_the_same_throttle_as_the_api()
    {
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw"], new Dictionary<string, string> { ["REGISTRY_AUTH_MAX_FAILED_LOGINS"] = "2" });
        var ui = UiClient.For(registry);

        ((int)(await ui.LoginAsync("alice", "nope1")).StatusCode).Should().Be(401);
        ui.LastPage.Should().Contain("Wrong user name or password.");
        using (var api = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { Authorization = TestRegistry.Basic("alice", "nope2") } })
            ((int)(await registry.Client.SendAsync(api)).StatusCode).Should().Be(401);
        using (var throttled = await ui.LoginAsync("alice", "alice-pw"))
        {
            ((int)throttled.StatusCode).Should().Be(429);
            throttled.Headers.RetryAfter!.Delta!.Value.TotalSeconds.Should().BePositive();
        }
        ui.LastPage.Should().Contain("Too many failed logins from this address, retry later.").And.Contain("value=\"alice\"");
        ui.Cookie.Should().NotBeNull();
        ((int)(await ui.GetAsync("/ui/account")).StatusCode).Should().Be(302, "the throttled login made no session");
    }

    [Test]
    public async Task Login_checks_the_password_and_the_session_shows_private_repositories()
    {
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw", "bob:bob-pw"]);
        registry.Client.DefaultRequestHeaders.Authorization = TestRegistry.Basic("alice", "alice-pw");
        await V2Seed.PushImageAsync(registry, "alice/secret", "latest");
        ((int)(await registry.Client.PutAsync("/v1/repositories/alice/secret/properties", new StringContent("{\"access\": \"private\"}"))).StatusCode).Should().Be(200);
        registry.Client.DefaultRequestHeaders.Authorization = null;

        var anonymous = UiClient.For(registry);
        ((int)(await anonymous.GetAsync("/ui/r/alice/secret")).StatusCode).Should().Be(404);
        await anonymous.GetAsync("/ui/search?q=secret");
        anonymous.LastPage.Should().Contain("0 repositories");

        var bob = UiClient.For(registry);
        using (var wrong = await bob.LoginAsync("bob", "wrong"))
        {
            ((int)wrong.StatusCode).Should().Be(401);
            bob.LastPage.Should().Contain("Wrong user name or password.");
        }
        ((int)(await bob.LoginAsync("bob", "bob-pw")).StatusCode).Should().Be(302);
        ((int)(await bob.GetAsync("/ui/r/alice/secret")).StatusCode).Should().Be(404, "bob may not read alice's private repository");

        var alice = UiClient.For(registry);
        var anonymousCookie = (await alice.GetAsync("/ui/login")).Headers.GetValues("Set-Cookie").Single();
        using (var ok = await alice.PostAsync("/ui/login", [new("user", "alice"), new("password", "alice-pw"), new("return", "/ui/r/alice/secret")]))
        {
            ((int)ok.StatusCode).Should().Be(302);
            ok.Headers.Location!.OriginalString.Should().Be("/ui/r/alice/secret");
        }
        alice.Cookie.Should().NotBe(anonymousCookie.Split(';')[0], "logging in starts a new session");
        ((int)(await alice.GetAsync("/ui/r/alice/secret")).StatusCode).Should().Be(200);
        alice.LastPage.Should().Contain("Logged in as <strong>alice</strong>").And.Contain("private</span>");
        await alice.GetAsync("/ui/search?q=secret");
        alice.LastPage.Should().Contain("href=\"/ui/r/alice/secret\"");

        ((int)(await alice.PostAsync("/ui/logout", [])).StatusCode).Should().Be(302);
        ((int)(await alice.GetAsync("/ui/r/alice/secret")).StatusCode).Should().Be(404);
    }

    [Test]
    public async Task The_owner_deletes_a_tag_after_confirming_and_it_is_gone_from_the_api()
    {
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw", "bob:bob-pw"], AliceAndBob);
        registry.Client.DefaultRequestHeaders.Authorization = TestRegistry.Basic("alice", "alice-pw");
        await V2Seed.PushImageAsync(registry, "alice/app", "old");
        await V2Seed.PushImageAsync(registry, "alice/app", "latest");
        registry.Client.DefaultRequestHeaders.Authorization = null;

        var bob = UiClient.For(registry);
        await bob.LoginAsync("bob", "bob-pw");
        await bob.GetAsync("/ui/r/alice/app");
        bob.LastPage.Should().NotContain("/ui/delete/");
        ((int)(await bob.GetAsync("/ui/delete/alice/app?tag=old&kind=v2")).StatusCode).Should().Be(403);

        var alice = UiClient.For(registry);
        await alice.LoginAsync("alice", "alice-pw");
        await alice.GetAsync("/ui/r/alice/app");
        alice.LastPage.Should().Contain("href=\"/ui/delete/alice/app?tag=old&amp;kind=v2\"");
        ((int)(await alice.GetAsync("/ui/delete/alice/app?tag=old&kind=v2")).StatusCode).Should().Be(200);
        using var deleted = await alice.PostAsync("/ui/delete/alice/app", [new("tag", "old"), new("kind", "v2")]);
        ((int)deleted.StatusCode).Should().Be(302);
        await alice.GetAsync("/ui/r/alice/app");
        alice.LastPage.Should().NotContain("data-tag=\"old\"").And.Contain("data-tag=\"latest\"");
        ((int)(await registry.Client.GetAsync("/v2/alice/app/manifests/old")).StatusCode).Should().Be(404);

        await alice.GetAsync("/ui/delete/alice/app");
        ((int)(await alice.PostAsync("/ui/delete/alice/app", [])).StatusCode).Should().Be(302);
        ((int)(await alice.GetAsync("/ui/r/alice/app")).StatusCode).Should().Be(404);
        ((int)(await registry.Client.GetAsync("/v2/alice/app/manifests/latest")).StatusCode).Should().Be(404);
    }

    [Test]
    public async Task Stars_comments_and_the_description_go_through_the_hub_rules()
    {
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw", "bob:bob-pw"], AliceAndBob);
        registry.Client.DefaultRequestHeaders.Authorization = TestRegistry.Basic("alice", "alice-pw");
        await V2Seed.PushImageAsync(registry, "alice/app", "latest");
        registry.Client.DefaultRequestHeaders.Authorization = null;

        var anonymous = UiClient.For(registry);
        await anonymous.GetAsync("/ui/r/alice/app");
        anonymous.LastPage.Should().Contain("★ 0 stars").And.Contain("to star or comment").And.NotContain("action=\"/ui/star/");

        var bob = UiClient.For(registry);
        await bob.LoginAsync("bob", "bob-pw");
        await bob.GetAsync("/ui/r/alice/app");
        bob.LastPage.Should().NotContain("Edit description", "only the owner edits the description");
        ((int)(await bob.PostAsync("/ui/star/alice/app", [new("star", "true")])).StatusCode).Should().Be(302);
        await bob.GetAsync("/ui/r/alice/app");
        bob.LastPage.Should().Contain("★ 1 star<").And.Contain("aria-pressed=\"true\">Unstar");
        ((int)(await bob.PostAsync("/ui/comments/alice/app", [new("comment", "<img src=x onerror=alert(1)> nice")])).StatusCode).Should().Be(302);
        ((int)(await bob.PostAsync("/ui/description/alice/app", [new("description", "mine now")])).StatusCode).Should().Be(403);

        var alice = UiClient.For(registry);
        await alice.LoginAsync("alice", "alice-pw");
        await alice.GetAsync("/ui/r/alice/app");
        alice.LastPage.Should().Contain("&lt;img src=x onerror=alert(1)&gt; nice").And.NotContain("<img");
        alice.LastPage.Should().NotContain("aria-label=\"Delete comment", "alice is neither the author nor an admin");
        ((int)(await alice.PostAsync("/ui/description/alice/app", [new("description", "# App\nThe *app*.")])).StatusCode).Should().Be(302);
        using (var api = await registry.Client.GetAsync("/v1/search?q=alice"))
            (await api.Content.ReadAsStringAsync()).Should().Contain("\"description\": \"# App\\nThe *app*.\"").And.Contain("\"star_count\": 1");
        await alice.GetAsync("/ui/r/alice/app");
        alice.LastPage.Should().Contain("<h1>App</h1>").And.Contain("<em>app</em>");

        await bob.GetAsync("/ui/r/alice/app");
        var id = Regex.Match(bob.LastPage!, "name=\"delete\" value=\"(\\d+)\"").Groups[1].Value;
        ((int)(await bob.PostAsync("/ui/comments/alice/app", [new("delete", id)])).StatusCode).Should().Be(302);
        ((int)(await bob.PostAsync("/ui/comments/alice/app", [new("comment", "   ")])).StatusCode).Should().Be(400);
        await bob.GetAsync("/ui/r/alice/app");
        bob.LastPage.Should().Contain("Comments (0)");
    }

    [Test]
    public async Task Admins_run_gc_dry_then_for_real_and_owners_manage_webhooks()
    {
        var env = new Dictionary<string, string>(AliceAndBob) { ["REGISTRY_AUTH_ADMINS"] = "root", ["REGISTRY_GC_GRACE_SECONDS"] = "0" };
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw", "bob:bob-pw", "root:root-pw"], env);
        registry.Client.DefaultRequestHeaders.Authorization = TestRegistry.Basic("alice", "alice-pw");
        var manifest = await V2Seed.PushImageAsync(registry, "alice/app", "latest");
        ((int)(await registry.Client.DeleteAsync($"/v2/alice/app/manifests/{manifest.Digest}")).StatusCode).Should().Be(202);
        registry.Client.DefaultRequestHeaders.Authorization = null;

        var alice = UiClient.For(registry);
        await alice.LoginAsync("alice", "alice-pw");
        ((int)(await alice.GetAsync("/ui/admin/gc")).StatusCode).Should().Be(403);
        ((int)(await alice.GetAsync("/ui/admin/users")).StatusCode).Should().Be(403);
        await alice.GetAsync("/ui/r/alice/app");
        ((int)(await alice.GetAsync("/ui/webhooks/alice/app")).StatusCode).Should().Be(200);
        ((int)(await alice.PostAsync("/ui/webhooks/alice/app", [new("url", "ftp://example.com/")])).StatusCode).Should().Be(400);
        ((int)(await alice.PostAsync("/ui/webhooks/alice/app", [new("url", "https://hooks.example.com/x?<b>")])).StatusCode).Should().Be(302);
        await alice.GetAsync("/ui/webhooks/alice/app");
        alice.LastPage.Should().Contain("<code>https://hooks.example.com/x?&lt;b&gt;</code>");

        var bob = UiClient.For(registry);
        await bob.LoginAsync("bob", "bob-pw");
        ((int)(await bob.GetAsync("/ui/webhooks/alice/app")).StatusCode).Should().Be(403);

        var root = UiClient.For(registry);
        await root.LoginAsync("root", "root-pw");
        await root.GetAsync("/ui/admin/gc");
        root.LastPage.Should().Contain("href=\"/ui/admin/gc\"");
        ((int)(await root.PostAsync("/ui/admin/gc", [new("mode", "dry")])).StatusCode).Should().Be(200);
        root.LastPage.Should().Contain("Dry run: what a run would delete").And.Contain("alice/app: would delete");
        ((int)(await root.PostAsync("/ui/admin/gc", [new("mode", "run")])).StatusCode).Should().Be(200);
        root.LastPage.Should().Contain("alice/app: deleted");
        ((int)(await root.PostAsync("/ui/admin/gc", [new("mode", "dry")])).StatusCode).Should().Be(200);
        root.LastPage.Should().NotContain("alice/app: would delete");
        ((int)(await root.GetAsync("/ui/admin/users")).StatusCode).Should().Be(200);
        root.LastPage.Should().Contain("<li>root</li>");
    }
}
