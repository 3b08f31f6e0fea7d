using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using Microsoft.Playwright;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Web;

/// <summary>
/// The web interface in a real browser (Debian's chromium through Playwright) against the real server process with
/// htpasswd authentication and deletion enabled. Screenshots of the main pages go to artifacts/screenshots/.
/// </summary>
[NonParallelizable]
public class UiBrowserTests
{
    private RegistryProcess _registry = null!;
    private IBrowserContext _context = null!;
    private readonly List<string> _consoleErrors = [];

    [OneTimeSetUp]
    public async Task StartRegistry()
    {
        var htpasswd = Path.Combine(Directory.CreateTempSubdirectory("registry-ui-auth-").FullName, "htpasswd");
        await File.WriteAllLinesAsync(htpasswd, [HtpasswdFile.Line("alice", "alice-pw"), HtpasswdFile.Line("bob", "bob-pw")]);
        _registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_ANONYMOUS_READ"] = "true",
            ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true",
        });
    }

    [OneTimeTearDown]
    public async Task StopRegistry() => await _registry.DisposeAsync();

    [SetUp]
    public async Task OpenContext()
    {
        var chromium = await Chromium.SharedAsync();
        _context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = _registry.BaseAddress.AbsoluteUri.TrimEnd('/'),
            Permissions = ["clipboard-read", "clipboard-write"],
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        });
        _consoleErrors.Clear();
    }

    [TearDown]
    public async Task CloseContext() => await _context.DisposeAsync();

    [Test]
    public async Task Search_open_copy_star_comment_and_delete_a_tag()
    {
        await PushAsync("alice/webapp", "1.0");
        await PushAsync("alice/webapp", "latest");
        var page = await NewPageAsync();
        await LoginAsync(page, "alice", "alice-pw");

        await page.GotoAsync("/ui/");
        await page.GetByLabel("Search repositories, tags or digests").PressSequentiallyAsync("webap");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/ui/search\\?q=webap$"));
        var link = page.GetByRole(AriaRole.Link, new() { Name = "alice/webapp", Exact = true });
        await Assertions.Expect(link).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("ui-search"), FullPage = true });
        await link.ClickAsync();

        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("alice/webapp");
        await Assertions.Expect(page.Locator("table.tags tbody tr")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#history")).ToHaveTextAsync("History of latest");
        await Assertions.Expect(page.Locator("table.history tbody tr")).ToHaveCountAsync(1);
        await page.GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        await Assertions.Expect(page.Locator(".copied")).ToHaveTextAsync("Copied");
        (await page.EvaluateAsync<string>("navigator.clipboard.readText()")).Should().Be($"docker pull {_registry.HostAndPort}/alice/webapp:latest");

        // The script stars in place: the page is not reloaded (its marker survives) and focus stays on the toggle.
        await page.EvaluateAsync("() => { window.samePage = true; }");
        await page.GetByRole(AriaRole.Button, new() { Name = "Star" }).ClickAsync();
        await Assertions.Expect(page.Locator("#star-count")).ToHaveTextAsync("★ 1 star");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Unstar" })).ToBeFocusedAsync();
        (await page.EvaluateAsync<bool>("() => window.samePage === true")).Should().BeTrue();
        await page.GetByRole(AriaRole.Button, new() { Name = "Unstar" }).ClickAsync();
        await Assertions.Expect(page.Locator("#star-count")).ToHaveTextAsync("★ 0 stars");
        await page.GetByRole(AriaRole.Button, new() { Name = "Star" }).ClickAsync();
        await Assertions.Expect(page.Locator("#star-count")).ToHaveTextAsync("★ 1 star");
        (await page.EvaluateAsync<bool>("() => window.samePage === true")).Should().BeTrue();
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/alice/webapp/stargazers"))
        {
            request.Headers.Authorization = Basic("alice", "alice-pw");
            using var stargazers = await _registry.Client.SendAsync(request);
            ((int)stargazers.StatusCode).Should().Be(200);
            (await stargazers.Content.ReadAsStringAsync()).Should().Contain("\"num_results\": 1,").And.Contain("\"user\": \"alice\"}]}");
        }
        await page.GetByLabel("Add a comment").FillAsync("Works on my machine");
        await page.GetByRole(AriaRole.Button, new() { Name = "Comment", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator(".comment-body")).ToHaveTextAsync("Works on my machine");
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("ui-repository"), FullPage = true });

        await page.GetByRole(AriaRole.Link, new() { Name = "Delete tag 1.0" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Delete tag");
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("ui-delete-confirm"), FullPage = true });
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("alice/webapp");
        await Assertions.Expect(page.Locator("table.tags tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("tr[data-tag='1.0']")).ToHaveCountAsync(0);
        using var api = await _registry.Client.GetAsync("/v2/alice/webapp/manifests/1.0");
        ((int)api.StatusCode).Should().Be(404);
        _consoleErrors.Should().BeEmpty("the policy must not block the page's own assets");
    }

    [Test]
    public async Task A_private_repository_is_invisible_logged_out_and_visible_to_its_owner()
    {
        await PushAsync("alice/hidden", "latest");
        using (var request = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/alice/hidden/properties"))
        {
            request.Headers.Authorization = Basic("alice", "alice-pw");
            request.Content = new StringContent("{\"access\": \"private\"}");
            ((int)(await _registry.Client.SendAsync(request)).StatusCode).Should().Be(200);
        }
        var page = await NewPageAsync();
        await page.GotoAsync("/ui/search?q=hidden");
        await Assertions.Expect(page.Locator("ol.results li")).ToHaveCountAsync(0);
        var response = await page.GotoAsync("/ui/r/alice/hidden");
        response!.Status.Should().Be(404);

        await LoginAsync(page, "alice", "alice-pw");
        await page.GotoAsync("/ui/search?q=hidden");
        await page.GetByRole(AriaRole.Link, new() { Name = "alice/hidden" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("alice/hidden private");
    }

    [Test]
    public async Task Script_in_a_description_or_a_comment_does_not_run_and_shows_as_text()
    {
        await PushAsync("alice/xss", "latest");
        const string description = "<script>window.__xss=1</script> <img src=x onerror=\"window.__xss=2\"> [click](javascript:window.__xss=3)";
        using (var request = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/alice/xss/properties"))
        {
            request.Headers.Authorization = Basic("alice", "alice-pw");
            request.Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(new { description }));
            ((int)(await _registry.Client.SendAsync(request)).StatusCode).Should().Be(200);
        }
        var page = await NewPageAsync();
        var dialogs = 0;
        page.Dialog += (_, dialog) => { dialogs++; _ = dialog.DismissAsync(); };
        await LoginAsync(page, "bob", "bob-pw");
        await page.GotoAsync("/ui/r/alice/xss");
        await page.GetByLabel("Add a comment").FillAsync("<script>window.__xss=4</script><img src=x onerror=alert(5)>");
        await page.GetByRole(AriaRole.Button, new() { Name = "Comment", Exact = true }).ClickAsync();

        await Assertions.Expect(page.Locator(".comment-body")).ToHaveTextAsync("<script>window.__xss=4</script><img src=x onerror=alert(5)>");
        await Assertions.Expect(page.Locator("#description")).ToContainTextAsync("<script>window.__xss=1</script>");
        await page.GetByRole(AriaRole.Link, new() { Name = "click" }).ClickAsync();
        (await page.EvaluateAsync<bool>("typeof window.__xss === 'undefined'")).Should().BeTrue();
        (await page.Locator("main img").CountAsync()).Should().Be(0);
        dialogs.Should().Be(0);
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("ui-xss-inert"), FullPage = true });
    }

    [Test]
    public async Task Login_with_a_bad_password_shows_an_error()
    {
        var page = await NewPageAsync();
        await page.GotoAsync("/ui/login");
        await page.GetByLabel("User name").FillAsync("alice");
        await page.GetByLabel("Password").FillAsync("wrong");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Wrong user name or password.");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Log in" })).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("ui-login-error"), FullPage = true });
    }

    [Test]
    public async Task Create_copy_and_revoke_an_access_token_on_the_account_page()
    {
        var page = await NewPageAsync();
        await LoginAsync(page, "alice", "alice-pw");
        await page.GetByRole(AriaRole.Link, new() { Name = "Account", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Account of alice");

        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("browser-ci");
        await page.GetByRole(AriaRole.Group, new() { Name = "Scope 1" }).GetByLabel("Repository").FillAsync("alice/webapp");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create access token" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Access token browser-ci created");
        var secret = await page.Locator("#token-secret").TextContentAsync();
        secret.Should().StartWith("rgt_");
        await page.GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        await Assertions.Expect(page.Locator(".copied")).ToHaveTextAsync("Copied");
        (await page.EvaluateAsync<string>("navigator.clipboard.readText()")).Should().Be(secret);
        await page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("ui-token-created"), FullPage = true });

        await page.GetByRole(AriaRole.Link, new() { Name = "Back to the access tokens" }).ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-token='browser-ci']")).ToContainTextAsync("alice/webapp pull");
        (await page.ContentAsync()).Should().NotContain(secret);
        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke access token browser-ci" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Revoke access token");
        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Account of alice");
        await Assertions.Expect(page.Locator("tr[data-token='browser-ci']")).ToHaveCountAsync(0);
        // Whatever test runs first: the page names its icon, so the browser never asks for a missing /favicon.ico.
        _consoleErrors.Should().BeEmpty();
    }

    private async Task<IPage> NewPageAsync()
    {
        var page = await _context.NewPageAsync();
        page.Console += (_, message) => { if (message.Type == "error") _consoleErrors.Add(message.Text); };
        return page;
    }

    private static async Task LoginAsync(IPage page, string user, string password)
    {
        await page.GotoAsync("/ui/login");
        await page.GetByLabel("User name").FillAsync(user);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Account" })).ToContainTextAsync("Logged in as " + user);
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    /// <summary>Pushes a small OCI image (a config with a history entry, one layer) as alice through the v2 API.</summary>
    private async Task PushAsync(string name, string tag)
    {
        var config = Encoding.UTF8.GetBytes(
            $"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2026-01-02T03:04:05Z\",\"n\":\"{Guid.NewGuid():N}\"," +
            "\"history\":[{\"created\":\"2026-01-02T03:04:05Z\",\"created_by\":\"/bin/sh -c #(nop) ADD file:app in /\"}]," +
            "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        var layer = V1Client.RandomBytes(2048);
        var configDigest = await PushBlobAsync(name, config);
        var layerDigest = await PushBlobAsync(name, layer);
        var manifest = $"{{\"schemaVersion\":2,\"mediaType\":\"{ManifestDocument.OciManifest}\"," +
            $"\"config\":{{\"mediaType\":\"{V2Seed.OciConfigType}\",\"digest\":\"{configDigest}\",\"size\":{config.Length}}}," +
            $"\"layers\":[{{\"mediaType\":\"{V2Seed.OciLayerType}\",\"digest\":\"{layerDigest}\",\"size\":{layer.Length}}}]}}";
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/v2/{name}/manifests/{tag}") { Content = new StringContent(manifest) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(ManifestDocument.OciManifest);
        request.Headers.Authorization = Basic("alice", "alice-pw");
        using var response = await _registry.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(201, await response.Content.ReadAsStringAsync());
    }

    private async Task<Digest> PushBlobAsync(string name, byte[] content)
    {
        var digest = Digest.Compute("sha256", content);
        using var start = new HttpRequestMessage(HttpMethod.Post, $"/v2/{name}/blobs/uploads/");
        start.Headers.Authorization = Basic("alice", "alice-pw");
        using var started = await _registry.Client.SendAsync(start);
        ((int)started.StatusCode).Should().Be(202, await started.Content.ReadAsStringAsync());
        var location = started.Headers.Location!.OriginalString;
        using var put = new HttpRequestMessage(HttpMethod.Put, location + (location.Contains('?') ? "&" : "?") + "digest=" + digest) { Content = new ByteArrayContent(content) };
        put.Headers.Authorization = Basic("alice", "alice-pw");
        using var done = await _registry.Client.SendAsync(put);
        ((int)done.StatusCode).Should().Be(201, await done.Content.ReadAsStringAsync());
        return digest;
    }
}
