using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>The binary's verbs and its start-up errors, run as a real process.</summary>
[Category("e2e")]
public class CliVerbTests
{
    private string _root = null!;

    [SetUp]
    public void SetUp()
    {
        _root = Path.Combine(Path.GetTempPath(), "registry-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_root);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private Dictionary<string, string?> Env(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string?>
        {
            ["STORAGE_PATH"] = Path.Combine(_root, "storage"),
            ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(_root, "search.db"),
        };
        foreach (var (k, v) in extra) env[k] = v;
        return env;
    }

    [Test]
    public async Task Config_verb_prints_resolved_settings_with_secrets_masked()
    {
        var result = await RegistryProcess.RunOnceAsync(Env(("SETTINGS_FLAVOR", "s3"), ("AWS_SECRET", "hunter2"), ("AWS_BUCKET", "images")), "config");
        result.ExitCode.Should().Be(0, result.Stderr);
        result.Stdout.Should().Contain("# flavor: s3");
        result.Stdout.Should().Contain("s3_bucket: images");
        result.Stdout.Should().Contain("s3_secret_key: ***");
        result.Stdout.Should().NotContain("hunter2");
    }

    [TestCase("SETTINGS_FLAVOR", "nope", "flavor \"nope\" (from $SETTINGS_FLAVOR=\"nope\"): the flavor is missing from the file; available flavors: ")]
    [TestCase("STANDALONE", "maybe", "flavor \"dev\", key \"standalone\" (from $STANDALONE=\"maybe\"): expected a boolean (true/false)")]
    [TestCase("SETTINGS_FLAVOR", "swift", "flavor \"swift\", key \"storage\": the storage backend \"swift\" is not supported by this server; supported: local (file), inmemory")]
    public async Task Bad_configuration_stops_start_up_with_one_clear_line(string variable, string value, string expected)
    {
        var result = await RegistryProcess.RunOnceAsync(Env((variable, value)), "--urls", "http://127.0.0.1:0");
        result.ExitCode.Should().Be(1);
        result.Stderr.Should().Contain("config error in ").And.Contain(expected).And.NotContain("   at ");
    }

    [Test]
    public async Task Missing_config_file_names_the_file()
    {
        var missing = Path.Combine(_root, "nothere.yml");
        var result = await RegistryProcess.RunOnceAsync(Env(("DOCKER_REGISTRY_CONFIG", missing)), "config");
        result.ExitCode.Should().Be(1);
        result.Stderr.Should().Contain(missing).And.NotContain("   at ");
    }

    [Test]
    public async Task Reindex_rebuilds_from_storage_and_prints_what_it_found()
    {
        var repo = Path.Combine(_root, "storage/repositories/team/found");
        Directory.CreateDirectory(repo);
        File.WriteAllText(Path.Combine(repo, "_index_images"), "[]");
        File.WriteAllText(Path.Combine(repo, "_description"), "a description");
        Directory.CreateDirectory(Path.Combine(_root, "storage/repositories/team/empty"));

        var result = await RegistryProcess.RunOnceAsync(Env(), "reindex");
        result.ExitCode.Should().Be(0, result.Stderr);
        result.Stdout.Should().StartWith("team/found\ta description\nreindexed 1 repositories from file storage ");
    }

    [Test]
    public async Task Reindex_into_postgresql_rebuilds_and_reports_progress_in_plain_lines_when_stderr_is_not_a_terminal()
    {
        foreach (var (name, description) in new[] { ("team/found", "a description"), ("team/other", ""), ("lib/private", "hidden") })
        {
            var repo = Path.Combine(_root, "storage/repositories", name);
            Directory.CreateDirectory(repo);
            File.WriteAllText(Path.Combine(repo, "_index_images"), "[]");
            if (description.Length > 0) File.WriteAllText(Path.Combine(repo, "_description"), description);
        }

        File.WriteAllText(Path.Combine(_root, "storage/repositories/lib/private/_private"), "");
        var server = await PostgresServer.SharedAsync();
        var database = await server.CreateDatabaseAsync("reindex");
        var url = server.Url(database);
        var masked = url.Replace(PostgresServer.Password, "***", StringComparison.Ordinal);

        // Redirected stderr is not a terminal: one line per phase, no carriage returns.
        var result = await RegistryProcess.RunOnceAsync(Env(("SQLALCHEMY_INDEX_DATABASE", url)), "reindex");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().EndWith($"reindexed 3 repositories from file storage {Path.Combine(_root, "storage")} into {masked}\n");
        result.Stderr.Should().NotContain("\r");
        result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().SatisfyRespectively(
            line => line.Should().Be($"scanning file storage {Path.Combine(_root, "storage")}"),
            line => line.Should().MatchRegex($@"^scanned 3 repositories in \d+\.\d s; writing them into {System.Text.RegularExpressions.Regex.Escape(masked)}$"),
            line => line.Should().MatchRegex(@"^wrote 3 rows in \d+\.\d s \([\d,]+ rows/s\)$"));

        await using var index = await Registry.Index.Database.Postgres.PostgresIndexDatabase.OpenAsync(
            new Npgsql.NpgsqlConnectionStringBuilder(server.ConnectionString(database)), CancellationToken.None);
        var search = await index.OpenSearchIndexAsync(cacheResults: true, CancellationToken.None);
        (await search.SearchAsync("team", 25, 1, default)).Should().BeEquivalentTo(new Registry.Index.Search.SearchPage(2,
            [new Registry.Index.Search.SearchEntry("team/found", "a description"), new Registry.Index.Search.SearchEntry("team/other", "")]),
            options => options.WithStrictOrdering());
        (await index.PrivateRepositories.ListAllAsync(default)).Select(e => e.Name).Should().Equal("lib/private");
    }

    [Test]
    public async Task Corrupt_search_database_stops_start_up_and_reindex_recovers()
    {
        var db = Path.Combine(_root, "search.db");
        File.WriteAllBytes(db, Enumerable.Range(0, 8192).Select(i => (byte)(i * 7)).ToArray());

        var start = await RegistryProcess.RunOnceAsync(Env(), "--urls", "http://127.0.0.1:0");
        start.ExitCode.Should().Be(1);
        start.Stderr.Should().Contain(db).And.Contain("reindex").And.NotContain("   at ");

        var reindex = await RegistryProcess.RunOnceAsync(Env(), "reindex");
        reindex.ExitCode.Should().Be(0, reindex.Stderr);
        Directory.GetFiles(_root, "search.db.corrupt-*").Should().HaveCount(1);

        await using var server = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["STORAGE_PATH"] = Path.Combine(_root, "storage"),
            ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + db,
        });
        (await server.Client.GetAsync("/v1/search").ReadAsync()).Status.Should().Be(200);
    }
}
