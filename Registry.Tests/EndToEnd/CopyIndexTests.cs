using System.Net.Http.Headers;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Database.Sqlite;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// The <c>copy-index</c> verb, run as a real process: an SQLite index database moved into PostgreSQL, then
/// served by a registry whose storage is empty, so everything it answers comes from the copy.
/// </summary>
[Category("e2e")]
public class CopyIndexTests
{
    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("registry-copy-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [Test]
    public async Task An_sqlite_index_copied_into_postgresql_keeps_accounts_search_rows_and_privacy()
    {
        var sqlite = Path.Combine(_root, "old.db");
        await MakeSqliteIndexAsync(sqlite);
        var server = await PostgresServer.SharedAsync();
        var url = server.Url(await server.CreateDatabaseAsync("copy"));
        var env = new Dictionary<string, string?>
        {
            ["STORAGE_PATH"] = Path.Combine(_root, "storage"),
            ["SQLALCHEMY_INDEX_DATABASE"] = url,
        };

        var copy = await RegistryProcess.RunOnceAsync(env, "copy-index", "--from", "sqlite:///" + sqlite);

        copy.ExitCode.Should().Be(0, copy.ToString());
        var masked = url.Replace(PostgresServer.Password, "***", StringComparison.Ordinal);
        copy.Stdout.Should().Be(
            "accounts: 1\nimage memberships: 2\nprivate repositories: 1\nsearch repositories: 1\nwebhooks: 1\nstars: 1\ncomments: 1\n" +
            $"copied {sqlite} into {masked}\n");
        copy.Stderr.Should().NotContain(PostgresServer.Password);

        var again = await RegistryProcess.RunOnceAsync(env, "copy-index", "--from", sqlite);
        again.ExitCode.Should().Be(1);
        again.Stderr.Should().Be($"{masked} already holds accounts or repositories; add --replace to overwrite them\n");
        again.Stdout.Should().BeEmpty();
        var replaced = await RegistryProcess.RunOnceAsync(env, "copy-index", "--from", sqlite, "--replace");
        replaced.ExitCode.Should().Be(0, replaced.ToString());

        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>(env)
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = Path.Combine(_root, "htpasswd"),
        });
        (await SendAsync(registry, "/v1/users/", "carol:carol-pw")).Status.Should().Be(200);
        (await SendAsync(registry, "/v1/users/", "carol:wrong")).Status.Should().Be(401);
        Names((await SendAsync(registry, "/v1/search?q=webapp", null)).Body).Should().Equal("team/webapp");
        (await SendAsync(registry, "/v1/search?q=webapp", null)).Body.Should().Contain("the web app").And.Contain("\"star_count\": 1");
        Names((await SendAsync(registry, "/v1/search?q=secret", null)).Body).Should().BeEmpty();
        Names((await SendAsync(registry, "/v1/search?q=secret", "carol:carol-pw")).Body).Should().Equal("carol/secret");
        (await SendAsync(registry, "/v1/repositories/carol/secret/webhooks", "carol:carol-pw")).Should().Be(
            (200, "[{\"id\": 1, \"url\": \"http://ci.example.test/hook\"}]"));
    }

    [Test]
    public async Task A_missing_source_file_is_one_line_and_creates_nothing()
    {
        var missing = Path.Combine(_root, "absent.db");

        var result = await RegistryProcess.RunOnceAsync(
            new Dictionary<string, string?> { ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(_root, "new.db") },
            "copy-index", "--from", missing);

        result.ExitCode.Should().Be(1);
        result.Stderr.Should().Be($"copy-index --from: no SQLite index database at {missing}\n");
        File.Exists(missing).Should().BeFalse();
    }

    [Test]
    public async Task Copying_the_configured_database_onto_itself_is_refused()
    {
        var path = Path.Combine(_root, "index.db");
        await MakeSqliteIndexAsync(path);

        var result = await RegistryProcess.RunOnceAsync(
            new Dictionary<string, string?> { ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + path }, "copy-index", "--from", path, "--replace");

        result.ExitCode.Should().Be(1);
        result.Stderr.Should().Be($"copy-index: {path} is the configured index database itself\n");
    }

    /// <summary>What a registry on SQLite would have written: an account, image membership, a private and a public repository, a webhook, a star and a comment.</summary>
    private async Task MakeSqliteIndexAsync(string path)
    {
        File.WriteAllText(Path.Combine(_root, "htpasswd"), "");
        var database = await SqliteIndexDatabase.OpenAsync(path, default);
        await database.Accounts.CreateAsync("carol", "carol-pw", "carol@example.com", default);
        await database.Images.SetAsync("team/webapp", [V1Client.NewImageId(), V1Client.NewImageId()], default);
        await database.PrivateRepositories.UpsertAsync("carol/secret", "a secret project", default);
        var search = await database.OpenSearchIndexAsync(cacheResults: false, default);
        await search.SetDescriptionAsync("team/webapp", "the web app", default);
        (search as IDisposable)?.Dispose();
        await database.Webhooks.AddAsync("carol/secret", "http://ci.example.test/hook", default);
        await database.Hub.StarAsync("team/webapp", "carol", default);
        await database.Hub.AddCommentAsync("team/webapp", "carol", "nice", default);
    }

    private static async Task<(int Status, string Body)> SendAsync(RegistryProcess registry, string path, string? login)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (login is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(login)));
        using var response = await registry.Client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static List<string> Names(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).ToList();
    }
}
