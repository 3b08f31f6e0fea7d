using Dapper;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using NUnit.Framework;
using Registry.Index.Database.Sqlite;
using Registry.Index.Search;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Sqlite;

/// <summary>The one schema of the whole file: its version table and the upgrade of files from before it.</summary>
public class SqliteIndexDatabaseTests
{
    private const long LatestVersion = 12;

    private TempDirectory _directory = null!;

    [SetUp]
    public void SetUp() => _directory = new TempDirectory();

    [TearDown]
    public void TearDown() => _directory.Dispose();

    [Test]
    public async Task A_new_file_holds_every_table_and_records_the_latest_version()
    {
        var path = _directory.File("index.db");

        var database = await SqliteIndexDatabase.OpenAsync(path, default);

        database.Location.Should().Be(path);
        (await SqliteFile.ScalarAsync<long>(path, "SELECT version FROM registry_schema_version WHERE id = 0")).Should().Be(LatestVersion);
        (await SqliteFile.ScalarAsync<long>(path, "PRAGMA user_version")).Should().Be(4);
        (await SqliteFile.ScalarAsync<long>(path, """
            SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (
                'registry_accounts', 'registry_image_repositories', 'registry_private_repositories',
                'search_repositories', 'search_short_terms', 'search_fts', 'search_meta', 'registry_webhooks',
                'registry_stars', 'registry_comments', 'registry_access_tokens', 'registry_refresh_tokens', 'registry_v2_repositories')
            """)).Should().Be(13);
    }

    [Test]
    public async Task A_file_of_the_layout_before_the_version_table_upgrades_without_losing_rows()
    {
        var path = _directory.File("index.db");
        await WritePreviousLayoutAsync(path);

        var database = await SqliteIndexDatabase.OpenAsync(path, default);
        using var search = (SqliteSearchIndex)await database.OpenSearchIndexAsync(cacheResults: false, default);

        (await SqliteFile.ScalarAsync<long>(path, "SELECT version FROM registry_schema_version WHERE id = 0")).Should().Be(LatestVersion);
        (await SqliteFile.ScalarAsync<long>(path, "PRAGMA user_version")).Should().Be(4);
        BCrypt.Net.BCrypt.Verify("s3cret!", await database.Accounts.HashOfAsync("alice", default)).Should().BeTrue();
        (await database.Accounts.CreateAsync("bob", "password", "alice@example.com", default))
            .Should().Be(Registry.Index.Accounts.CreateAccountResult.AlreadyExists);
        (await database.Images.RepositoriesOfAsync("aaaa", default)).Should().BeEquivalentTo("library/app", "alice/secret");
        (await database.PrivateRepositories.SearchAsync("secret", "alice", everyone: false, default))
            .Should().Equal(new SearchEntry("alice/secret", "Not for you"));
        (await search.SearchAsync("app", 25, 1, default)).Should().BeEquivalentTo(new SearchPage(2, [
            new SearchEntry("library/app", "The app", 2), new SearchEntry("team/apple", "")]), o => o.WithStrictOrdering());

        await search.AddRepositoryAsync("team/app-two", default);
        await database.Images.AddAsync("library/app", ["cccc"], default);
        var reopened = await SqliteIndexDatabase.OpenAsync(path, default);

        (await SqliteFile.ScalarAsync<long>(path, "SELECT version FROM registry_schema_version WHERE id = 0")).Should().Be(LatestVersion);
        (await reopened.Images.CountAsync(default)).Should().Be(4);
        (await search.SearchAsync("app", 25, 1, default)).NumResults.Should().Be(3);
    }

    [Test]
    public async Task A_file_whose_version_table_is_newer_is_refused()
    {
        var path = _directory.File("index.db");
        await SqliteIndexDatabase.OpenAsync(path, default);
        await SqliteFile.ExecuteAsync(path, "UPDATE registry_schema_version SET version = 99");

        var act = () => SqliteIndexDatabase.OpenAsync(path, default);

        var error = (await act.Should().ThrowAsync<SearchIndexException>()).Which;
        error.Failure.Should().Be(SearchIndexFailure.NewerVersion);
        error.Message.Should().Contain(path).And.Contain("version 99");
    }

    /// <summary>
    /// A file as the registry wrote it before the version table: the search tables at their own version 4 in
    /// <c>PRAGMA user_version</c> (the search steps of the migration list are those of that registry), beside
    /// the other tables as each store created them, in that registry's words.
    /// </summary>
    private static async Task WritePreviousLayoutAsync(string path)
    {
        using (var search = await SqliteSearchIndex.OpenAsync(path, default))
        {
            await search.ReplaceAllAsync([new SearchEntry("library/app", "The app", 2), new SearchEntry("team/apple", "")], default);
        }

        await SqliteFile.ExecuteAsync(path, $"""
            DROP TABLE registry_schema_version;
            DROP TABLE registry_accounts;
            DROP TABLE registry_image_repositories;
            DROP TABLE registry_private_repositories;
            PRAGMA user_version = 4;
            CREATE TABLE IF NOT EXISTS registry_accounts (
                username      TEXT PRIMARY KEY NOT NULL,
                email         TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created       INTEGER NOT NULL
            );
            CREATE UNIQUE INDEX IF NOT EXISTS registry_accounts_email ON registry_accounts (email) WHERE email <> '';
            CREATE TABLE IF NOT EXISTS registry_image_repositories (
                image_id   TEXT NOT NULL,
                repository TEXT NOT NULL,
                PRIMARY KEY (image_id, repository)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS registry_image_repositories_repo ON registry_image_repositories (repository);
            CREATE TABLE IF NOT EXISTS registry_private_repositories (
                name              TEXT PRIMARY KEY NOT NULL,
                namespace         TEXT NOT NULL,
                description       TEXT NOT NULL,
                name_lower        TEXT NOT NULL,
                description_lower TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS registry_private_repositories_ns ON registry_private_repositories (namespace);
            INSERT INTO registry_accounts VALUES ('alice', 'alice@example.com', '{BCrypt.Net.BCrypt.HashPassword("s3cret!", 4)}', unixepoch());
            INSERT INTO registry_image_repositories VALUES ('aaaa', 'library/app'), ('bbbb', 'library/app'), ('aaaa', 'alice/secret');
            INSERT INTO registry_private_repositories VALUES ('alice/secret', 'alice', 'Not for you', 'alice/secret', 'not for you');
            """);
        SqliteConnection.ClearAllPools();
    }
}
