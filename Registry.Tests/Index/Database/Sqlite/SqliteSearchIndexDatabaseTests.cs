using Dapper;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using NUnit.Framework;
using Registry.Index.Database.Sqlite;
using Registry.Index.Search;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Sqlite;

public class SqliteSearchIndexDatabaseTests
{
    private TempDirectory _directory = null!;

    [SetUp]
    public void SetUp() => _directory = new TempDirectory();

    [TearDown]
    public void TearDown() => _directory.Dispose();

    [Test]
    public async Task Open_creates_the_parent_directory_and_uses_wal()
    {
        var path = _directory.File("nested/deeper/index.db");

        var index = await SqliteSearchIndex.OpenAsync(path, default);

        index.FilePath.Should().Be(path);
        (await index.CountAsync(default)).Should().Be(0);
        (await SqliteFile.ScalarAsync<string>(path, "PRAGMA journal_mode")).Should().Be("wal");
        (await SqliteFile.ScalarAsync<long>(path, "PRAGMA user_version")).Should().Be(4);
    }

    [Test]
    public async Task Open_upgrades_a_database_of_the_original_registry_and_reopening_is_idempotent()
    {
        var path = _directory.File("docker-registry.db");
        await SqliteFile.ExecuteAsync(path, """
            CREATE TABLE version (id INTEGER NOT NULL, PRIMARY KEY (id));
            INSERT INTO version VALUES (1);
            CREATE TABLE repository (
                id INTEGER NOT NULL, name VARCHAR(95) NOT NULL, description VARCHAR(100),
                PRIMARY KEY (id), UNIQUE (name));
            INSERT INTO repository (name, description) VALUES ('library/busybox', NULL), ('team/app', 'An App');
            """);

        var index = await SqliteSearchIndex.OpenAsync(path, default);

        (await SqliteFile.ScalarAsync<long>(path, "PRAGMA user_version")).Should().Be(4);
        (await index.SearchAsync("", 25, 1, default)).Should().BeEquivalentTo(new SearchPage(2, [
            new SearchEntry("library/busybox", ""),
            new SearchEntry("team/app", "An App"),
        ]));
        (await index.SearchAsync("app", 25, 1, default)).NumResults.Should().Be(1);

        await index.AddRepositoryAsync("team/new", default);
        await index.RemoveRepositoryAsync("library/busybox", default);
        var reopened = await SqliteSearchIndex.OpenAsync(path, default);

        (await reopened.SearchAsync("", 25, 1, default)).Results.Select(r => r.Name).Should()
            .Equal("team/app", "team/new");
        (await SqliteFile.ScalarAsync<long>(path, "PRAGMA user_version")).Should().Be(4);
        // The original's own table is left as it was.
        (await SqliteFile.ScalarAsync<long>(path, "SELECT count(*) FROM repository")).Should().Be(2);
    }

    [Test]
    public async Task Open_upgrades_a_version_1_database_and_its_searches_follow_later_writes()
    {
        var path = _directory.File("index.db");
        var first = await SqliteSearchIndex.OpenAsync(path, default);
        await first.ReplaceAllAsync([new SearchEntry("team/app", "An App", 3), new SearchEntry("team/apple", "")], default);
        first.Dispose();
        // What version 1 left behind: no row version, no partial index, the wide ordering index.
        await SqliteFile.ExecuteAsync(path, """
            DROP TRIGGER search_repositories_version_au;
            DROP TRIGGER search_repositories_ai;
            DROP TRIGGER search_repositories_ad;
            CREATE TRIGGER search_repositories_ai AFTER INSERT ON search_repositories BEGIN
                INSERT INTO search_fts(rowid, name_t, desc_t) VALUES (new.id, new.name_lower, new.description_lower);
            END;
            CREATE TRIGGER search_repositories_ad AFTER DELETE ON search_repositories BEGIN
                DELETE FROM search_fts WHERE rowid = old.id;
            END;
            DROP TABLE search_meta;
            DROP INDEX ix_search_described;
            DROP INDEX ix_search_order;
            CREATE INDEX ix_search_order ON search_repositories(star_count DESC, name, name_lower, repo_lower, description_lower);
            DROP TABLE registry_schema_version;
            PRAGMA user_version = 1;
            """);

        var index = await SqliteSearchIndex.OpenAsync(path, default);
        index.CacheResults = false;

        (await SqliteFile.ScalarAsync<long>(path, "PRAGMA user_version")).Should().Be(4);
        (await SqliteFile.ScalarAsync<long>(path, "SELECT count(*) FROM sqlite_master WHERE name IN ('search_meta', 'ix_search_described')"))
            .Should().Be(2);
        (await index.SearchAsync("app", 25, 1, default)).Should().BeEquivalentTo(new SearchPage(2, [
            new SearchEntry("team/app", "An App", 3), new SearchEntry("team/apple", "")]), o => o.WithStrictOrdering());
        await index.SetDescriptionAsync("team/other", "my app", default);
        await index.RemoveRepositoryAsync("team/apple", default);
        (await index.SearchAsync("app", 25, 1, default)).Should().BeEquivalentTo(new SearchPage(2, [
            new SearchEntry("team/app", "An App", 3), new SearchEntry("team/other", "my app")]), o => o.WithStrictOrdering());
    }

    [Test]
    public async Task Open_upgrades_a_version_2_database_to_order_keys_and_its_searches_follow_later_writes()
    {
        var path = _directory.File("index.db");
        var first = await SqliteSearchIndex.OpenAsync(path, default);
        await first.ReplaceAllAsync([
            new SearchEntry("team/app", "An App", 3), new SearchEntry("team/apple", ""), new SearchEntry("a/zapp", "", 1),
            new SearchEntry("b/other", "for the app"),
        ], default);
        first.Dispose();
        // What version 2 left behind: no order key; the full-text rowid and the ordering indexes by id and name.
        await SqliteFile.ExecuteAsync(path, """
            DROP TRIGGER search_repositories_ai;
            DROP TRIGGER search_repositories_ad;
            DROP TRIGGER search_repositories_au;
            DROP TRIGGER search_repositories_rank_au;
            DROP TABLE search_fts;
            DROP INDEX ix_search_order;
            DROP INDEX ix_search_described;
            DROP INDEX ix_search_name_lower;
            DROP INDEX ix_search_repo_lower;
            DROP INDEX ix_search_rank;
            ALTER TABLE search_repositories DROP COLUMN order_key;
            CREATE INDEX ix_search_order ON search_repositories(star_count DESC, name, name_lower, repo_lower);
            CREATE INDEX ix_search_described ON search_repositories(star_count DESC, name, name_lower, description_lower)
                WHERE description_lower <> '';
            CREATE INDEX ix_search_name_lower ON search_repositories(name_lower, star_count, name, repo_lower);
            CREATE INDEX ix_search_repo_lower ON search_repositories(repo_lower, star_count, name);
            CREATE VIRTUAL TABLE search_fts USING fts5(
                name_t, desc_t, content='', contentless_delete=1, tokenize='trigram case_sensitive 1');
            INSERT INTO search_fts(rowid, name_t, desc_t) SELECT id, name_lower, description_lower FROM search_repositories;
            CREATE TRIGGER search_repositories_ai AFTER INSERT ON search_repositories BEGIN
                INSERT INTO search_fts(rowid, name_t, desc_t) VALUES (new.id, new.name_lower, new.description_lower);
                UPDATE search_meta SET version = random() WHERE id = 0;
            END;
            CREATE TRIGGER search_repositories_ad AFTER DELETE ON search_repositories BEGIN
                DELETE FROM search_fts WHERE rowid = old.id;
                UPDATE search_meta SET version = random() WHERE id = 0;
            END;
            CREATE TRIGGER search_repositories_au AFTER UPDATE OF name_lower, description_lower ON search_repositories BEGIN
                DELETE FROM search_fts WHERE rowid = old.id;
                INSERT INTO search_fts(rowid, name_t, desc_t) VALUES (new.id, new.name_lower, new.description_lower);
            END;
            DROP TABLE registry_schema_version;
            PRAGMA user_version = 2;
            """);

        var index = await SqliteSearchIndex.OpenAsync(path, default);
        index.CacheResults = false;

        (await SqliteFile.ScalarAsync<long>(path, "PRAGMA user_version")).Should().Be(4);
        (await SqliteFile.ScalarAsync<long>(path, "SELECT count(DISTINCT order_key) FROM search_repositories WHERE order_key > 0")).Should().Be(4);
        (await index.SearchAsync("app", 2, 2, default)).Should().BeEquivalentTo(new SearchPage(4, [
            new SearchEntry("a/zapp", "", 1), new SearchEntry("b/other", "for the app")]), o => o.WithStrictOrdering());
        await index.SetDescriptionAsync("c/new", "an app too", default);
        await index.RemoveRepositoryAsync("team/apple", default);
        (await index.SearchAsync("app", 25, 1, default)).Should().BeEquivalentTo(new SearchPage(4, [
            new SearchEntry("team/app", "An App", 3), new SearchEntry("a/zapp", "", 1), new SearchEntry("b/other", "for the app"),
            new SearchEntry("c/new", "an app too")]), o => o.WithStrictOrdering());
    }

    [Test]
    public async Task Open_upgrades_a_version_3_database_to_name_masks_and_its_searches_follow_later_writes()
    {
        var path = _directory.File("index.db");
        var first = await SqliteSearchIndex.OpenAsync(path, default);
        await first.ReplaceAllAsync([
            new SearchEntry("team/app", "An App", 3), new SearchEntry("q/zap", ""), new SearchEntry("a/Üq", "qq"),
            new SearchEntry("b/other", "about q")], default);
        first.Dispose();
        // What version 3 left behind: no mask column, the ordering index without it.
        await SqliteFile.ExecuteAsync(path, """
            DROP TRIGGER search_repositories_mask_au;
            DROP INDEX ix_search_order;
            ALTER TABLE search_repositories DROP COLUMN name_mask;
            CREATE INDEX ix_search_order ON search_repositories(order_key, name_lower, repo_lower);
            DROP TABLE registry_schema_version;
            PRAGMA user_version = 3;
            """);

        var index = await SqliteSearchIndex.OpenAsync(path, default);
        index.CacheResults = false;

        (await SqliteFile.ScalarAsync<long>(path, "PRAGMA user_version")).Should().Be(4);
        // t, e, a, m, p and '/' each have a bit of their own: 0, 4, 12, 15, 19 and 39.
        (await SqliteFile.ScalarAsync<long>(path, "SELECT name_mask FROM search_repositories WHERE name = 'team/app'"))
            .Should().Be(549756375057);
        (await SqliteFile.ScalarAsync<long>(path, "SELECT count(*) FROM pragma_index_info('ix_search_order') WHERE name = 'name_mask'"))
            .Should().Be(1);
        (await index.SearchAsync("q", 25, 1, default)).Should().BeEquivalentTo(new SearchPage(3, [
            new SearchEntry("q/zap", ""), new SearchEntry("a/Üq", "qq"), new SearchEntry("b/other", "about q")]),
            o => o.WithStrictOrdering());
        (await index.SearchAsync("ü", 25, 1, default)).Should().BeEquivalentTo(new SearchPage(1, [
            new SearchEntry("a/Üq", "qq")]), o => o.WithStrictOrdering());
        await index.AddRepositoryAsync("x/aq", default);
        await index.RemoveRepositoryAsync("q/zap", default);
        (await index.SearchAsync("q", 25, 1, default)).Should().BeEquivalentTo(new SearchPage(3, [
            new SearchEntry("a/Üq", "qq"), new SearchEntry("x/aq", ""), new SearchEntry("b/other", "about q")]),
            o => o.WithStrictOrdering());
    }

    [Test]
    public async Task A_name_changed_outside_the_registry_without_its_mask_is_still_found()
    {
        var path = _directory.File("index.db");
        var index = await SqliteSearchIndex.OpenAsync(path, default);
        index.CacheResults = false;
        await index.ReplaceAllAsync([new SearchEntry("team/app", ""), new SearchEntry("team/other", "")], default);

        // Counts of short terms are kept by the registry alone, so a trigram term shows it: the full-text index follows.
        await SqliteFile.ExecuteAsync(path, "UPDATE search_repositories SET name_lower = 'team/appz' WHERE name = 'team/app'");

        (await SqliteFile.ScalarAsync<long>(path, "SELECT name_mask FROM search_repositories WHERE name = 'team/app'")).Should().Be(-1);
        (await index.SearchAsync("ppz", 25, 1, default)).Should().BeEquivalentTo(new SearchPage(1, [
            new SearchEntry("team/app", "")]), o => o.WithStrictOrdering());
    }

    [Test]
    public async Task Open_refuses_a_database_from_a_newer_version()
    {
        var path = _directory.File("index.db");
        await SqliteSearchIndex.OpenAsync(path, default);
        await SqliteFile.ExecuteAsync(path, "PRAGMA user_version = 99");

        var act = () => SqliteSearchIndex.OpenAsync(path, default);

        var error = (await act.Should().ThrowAsync<SearchIndexException>()).Which;
        error.Failure.Should().Be(SearchIndexFailure.NewerVersion);
        error.FilePath.Should().Be(path);
        error.Message.Should().Contain(path).And.Contain("version 99");
    }

    [Test]
    public async Task Concurrent_writers_on_two_instances_never_fail()
    {
        var path = _directory.File("index.db");
        var first = await SqliteSearchIndex.OpenAsync(path, default);
        var second = await SqliteSearchIndex.OpenAsync(path, default);

        var writers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var index = worker % 2 == 0 ? first : second;
            for (var i = 0; i < 200; i++)
            {
                var name = $"worker{worker}/repo-{i % 50}";
                switch (i % 4)
                {
                    case 0: await index.AddRepositoryAsync(name, default); break;
                    case 1: await index.SetDescriptionAsync(name, $"written by {worker}", default); break;
                    case 2: await index.SearchAsync("repo", 10, 1, default); break;
                    default: await index.RemoveRepositoryAsync($"worker{worker}/repo-{(i + 1) % 50}", default); break;
                }
            }
        })).ToList();
        await Task.WhenAll(writers);

        // Each worker owns its names, so replaying its operations in order gives the final state.
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var worker = 0; worker < 8; worker++)
        {
            for (var i = 0; i < 200; i++)
            {
                var name = $"worker{worker}/repo-{i % 50}";
                switch (i % 4)
                {
                    case 0: expected.TryAdd(name, ""); break;
                    case 1: expected[name] = $"written by {worker}"; break;
                    case 3: expected.Remove($"worker{worker}/repo-{(i + 1) % 50}"); break;
                }
            }
        }

        (await first.CountAsync(default)).Should().Be(expected.Count);
        (await SqliteFile.ScalarAsync<long>(path, "SELECT count(*) FROM search_repositories")).Should().Be(expected.Count);
        var all = new List<SearchEntry>();
        for (var page = 1; page <= 5; page++)
        {
            all.AddRange((await second.SearchAsync("", 100, page, default)).Results);
        }

        all.Select(e => (e.Name, e.Description)).Should()
            .BeEquivalentTo(expected.Select(kv => (kv.Key, kv.Value)));
        (await second.SearchAsync("3", 100, 1, default)).NumResults.Should()
            .Be(expected.Count(kv => kv.Key.Contains('3') || kv.Value.Contains('3')));
        (await first.SearchAsync("by 3", 100, 1, default)).NumResults.Should()
            .Be(expected.Count(kv => kv.Value == "written by 3"));
    }

    [Test]
    public async Task Open_reports_a_file_that_is_not_a_database_and_Recreate_moves_it_aside()
    {
        var path = _directory.File("index.db");
        await File.WriteAllTextAsync(path, new string('x', 8192));

        var act = () => SqliteSearchIndex.OpenAsync(path, default);

        var error = (await act.Should().ThrowAsync<SearchIndexException>()).Which;
        error.Failure.Should().Be(SearchIndexFailure.Corrupt);
        error.Message.Should().Contain(path).And.Contain("reindex").And.Contain("Delete");

        var recreated = await SqliteSearchIndex.RecreateAsync(path, default);

        (await recreated.CountAsync(default)).Should().Be(0);
        await recreated.AddRepositoryAsync("library/fresh", default);
        (await recreated.SearchAsync("fresh", 25, 1, default)).NumResults.Should().Be(1);
        var aside = Directory.GetFiles(_directory.Path, "index.db.corrupt-*").Should().ContainSingle().Which;
        (await File.ReadAllTextAsync(aside)).Should().Be(new string('x', 8192));
    }

    [Test]
    public async Task Open_reports_a_malformed_database_and_Recreate_recovers()
    {
        var path = _directory.File("index.db");
        var index = await SqliteSearchIndex.OpenAsync(path, default);
        await index.ReplaceAllAsync(Enumerable.Range(0, 2000).Select(i => new SearchEntry($"ns/r{i}", "")), default);
        SqliteConnection.ClearAllPools();
        // Keep the 100-byte header, destroy the schema b-tree that follows it on page 1.
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Position = 100;
            await file.WriteAsync(Enumerable.Repeat((byte)0xA5, 3000).ToArray());
        }

        var act = () => SqliteSearchIndex.OpenAsync(path, default);

        var error = (await act.Should().ThrowAsync<SearchIndexException>()).Which;
        error.Failure.Should().Be(SearchIndexFailure.Corrupt);
        error.Message.Should().Contain(path);

        var recreated = await SqliteSearchIndex.RecreateAsync(path, default);
        (await recreated.CountAsync(default)).Should().Be(0);
        Directory.GetFiles(_directory.Path, "index.db.corrupt-*").Should().ContainSingle();
    }

    [Test]
    public async Task Recreate_keeps_a_healthy_database()
    {
        var path = _directory.File("index.db");
        var index = await SqliteSearchIndex.OpenAsync(path, default);
        await index.AddRepositoryAsync("library/kept", default);

        var recreated = await SqliteSearchIndex.RecreateAsync(path, default);

        (await recreated.CountAsync(default)).Should().Be(1);
        Directory.GetFiles(_directory.Path, "index.db.corrupt-*").Should().BeEmpty();
    }
}
