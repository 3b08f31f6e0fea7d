using System.Net;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Hub;

/// <summary>
/// Stars as search sees them (README, 'Search': ties by stars then name), kept by <c>reindex</c>, dropped with a deleted
/// repository; and the Hub API with authentication off, through HTTP against the real app.
/// </summary>
[TestFixture]
public sealed class HubSearchTests
{
    private string _root = null!;
    private Dictionary<string, string> _env = null!;

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("registry-hub-").FullName;
        var htpasswd = Path.Combine(_root, "htpasswd");
        File.WriteAllLines(htpasswd, new[] { "alice", "bob", "root" }.Select(u => HtpasswdFile.Line(u, u + "-pw")));
        _env = new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_HTPASSWD_REALM"] = "Test Realm",
            ["REGISTRY_AUTH_ADMINS"] = "root",
        };
    }

    [TearDown]
    public void TearDown()
    {
        // A registry's disposal removes the directory it ran in; a test that failed first may leave it.
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task Search_reports_real_stars_and_orders_ties_by_them()
    {
        await using var registry = TestRegistry.Start(_env, _root);
        await HubSeed.PushAsync(registry, "root", "team/aaa", "team/bbb", "team/ccc");
        (await SearchAsync(registry, "team", null)).Should().Equal(("team/aaa", 0), ("team/bbb", 0), ("team/ccc", 0));

        await SendAsync(registry, HttpMethod.Put, "/v1/repositories/team/ccc/star", "alice");
        await SendAsync(registry, HttpMethod.Put, "/v1/repositories/team/ccc/star", "bob");
        await SendAsync(registry, HttpMethod.Put, "/v1/repositories/team/bbb/star", "alice");
        (await SearchAsync(registry, "team", null)).Should().Equal(("team/ccc", 2), ("team/bbb", 1), ("team/aaa", 0));
        (await SearchAsync(registry, "team", "bob")).Should().Equal(("team/ccc", 2), ("team/bbb", 1), ("team/aaa", 0));

        await SendAsync(registry, HttpMethod.Delete, "/v1/repositories/team/ccc/star", "alice");
        await SendAsync(registry, HttpMethod.Delete, "/v1/repositories/team/ccc/star", "bob");
        (await SearchAsync(registry, "team", null)).Should().Equal(("team/bbb", 1), ("team/aaa", 0), ("team/ccc", 0));
    }

    [Test]
    public async Task Private_results_carry_their_stars_for_those_who_see_them()
    {
        await using var registry = TestRegistry.Start(_env, _root);
        await HubSeed.PushAsync(registry, "root", "alice/secret");
        (await SendAsync(registry, HttpMethod.Put, "/v1/repositories/alice/secret/properties", "alice", "{\"access\": \"private\"}")).Status.Should().Be(HttpStatusCode.OK);
        await SendAsync(registry, HttpMethod.Put, "/v1/repositories/alice/secret/star", "alice");

        (await SearchAsync(registry, "secret", "alice")).Should().Equal(("alice/secret", 1));
        (await SearchAsync(registry, "secret", "bob")).Should().BeEmpty();
    }

    [Test]
    public async Task Reindex_keeps_star_counts_from_the_stars_table()
    {
        // Stopped, not disposed: disposal would remove the directory the restarted registry reuses.
        var registry = TestRegistry.Start(_env, _root);
        await HubSeed.PushAsync(registry, "root", "team/aaa", "team/bbb");
        await SendAsync(registry, HttpMethod.Put, "/v1/repositories/team/bbb/star", "alice");
        await registry.StopAsync();

        var reindex = await RegistryProcess.RunOnceAsync(new Dictionary<string, string?>
        {
            ["SETTINGS_FLAVOR"] = "dev",
            ["STORAGE_PATH"] = Path.Combine(_root, "storage"),
            ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(_root, "search.db"),
        }, "reindex");
        reindex.ExitCode.Should().Be(0, reindex.ToString());

        await using var restarted = TestRegistry.Start(_env, _root);
        (await SearchAsync(restarted, "team", null)).Should().Equal(("team/bbb", 1), ("team/aaa", 0));
        (await SendAsync(restarted, HttpMethod.Get, "/v1/repositories/team/bbb", "alice")).Body.Should().Contain("\"star_count\": 1, \"starred\": true");
    }

    [Test]
    public async Task A_deleted_repository_loses_its_stars_and_comments()
    {
        await using var registry = TestRegistry.Start(_env, _root);
        await HubSeed.PushAsync(registry, "root", "team/app", "team/other");
        await SendAsync(registry, HttpMethod.Put, "/v1/repositories/team/app/star", "alice");
        await SendAsync(registry, HttpMethod.Put, "/v1/repositories/team/other/star", "alice");
        (await SendAsync(registry, HttpMethod.Post, "/v1/repositories/team/app/comments", "bob", "{\"comment\": \"hi\"}")).Status.Should().Be(HttpStatusCode.Created);

        (await SendAsync(registry, HttpMethod.Delete, "/v1/repositories/team/app/", "root")).Status.Should().Be(HttpStatusCode.OK);
        (await SendAsync(registry, HttpMethod.Get, "/v1/repositories/team/app", "alice")).Should().Be((HttpStatusCode.NotFound, "{\"error\": \"Repository not found\"}"));
        await HubSeed.PushAsync(registry, "root", "team/app");

        (await SendAsync(registry, HttpMethod.Get, "/v1/repositories/team/app", "alice")).Should().Be((HttpStatusCode.OK,
            "{\"comment_count\": 0, \"description\": \"\", \"is_private\": false, \"name\": \"team/app\", \"star_count\": 0, \"starred\": false}"));
        (await SearchAsync(registry, "team", null)).Should().Equal(("team/other", 1), ("team/app", 0));
        (await SendAsync(registry, HttpMethod.Get, "/v1/users/alice/starred", "alice")).Body.Should().Contain("\"num_results\": 1");
    }

    [Test]
    public async Task With_authentication_off_reads_work_and_writes_are_401_as_there_is_no_user()
    {
        await using var registry = TestRegistry.Start(root: _root);
        await HubSeed.PushAsync(registry, null, "team/app");

        foreach (var (method, path, error) in new[]
                 {
                     (HttpMethod.Put, "/v1/repositories/team/app/star", "Authentication required to star"),
                     (HttpMethod.Post, "/v1/repositories/team/app/comments", "Authentication required to comment"),
                     (HttpMethod.Delete, "/v1/repositories/team/app/comments/1", "Authentication required to delete a comment"),
                 })
        {
            using var request = new HttpRequestMessage(method, path) { Content = new StringContent("{\"comment\": \"hi\"}", Encoding.UTF8, "application/json") };
            request.Headers.Authorization = TestRegistry.Basic("alice", "alice-pw");
            using var response = await registry.Client.SendAsync(request);
            (response.StatusCode, await response.Content.ReadAsStringAsync()).Should().Be((HttpStatusCode.Unauthorized, $"{{\"error\": \"{error}\"}}"));
            response.Headers.WwwAuthenticate.ToString().Should().Be("Basic realm=\"Registry Realm\"");
        }

        (await SendAsync(registry, HttpMethod.Get, "/v1/repositories/team/app", null)).Should().Be((HttpStatusCode.OK,
            "{\"comment_count\": 0, \"description\": \"\", \"is_private\": false, \"name\": \"team/app\", \"star_count\": 0, \"starred\": false}"));
        (await SendAsync(registry, HttpMethod.Get, "/v1/repositories/team/app/comments", null)).Should().Be((HttpStatusCode.OK,
            "{\"next\": null, \"num_pages\": 1, \"num_results\": 0, \"page\": 1, \"page_size\": 25, \"results\": []}"));
        (await SendAsync(registry, HttpMethod.Get, "/v1/repositories/team/gone/stargazers", null)).Should().Be((HttpStatusCode.NotFound,
            "{\"error\": \"Repository not found\"}"));
    }

    private static async Task<List<(string Name, int Stars)>> SearchAsync(TestRegistry registry, string query, string? user)
    {
        var (status, body) = await SendAsync(registry, HttpMethod.Get, $"/v1/search?q={query}", user);
        status.Should().Be(HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("results").EnumerateArray()
            .Select(r => (r.GetProperty("name").GetString()!, r.GetProperty("star_count").GetInt32())).ToList();
    }

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(TestRegistry registry, HttpMethod method, string path, string? user, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (user is not null) request.Headers.Authorization = TestRegistry.Basic(user, user + "-pw");
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await registry.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
