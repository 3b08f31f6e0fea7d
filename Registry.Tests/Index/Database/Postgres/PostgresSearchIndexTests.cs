using FluentAssertions;
using NUnit.Framework;
using Npgsql;
using Registry.Index.Database.Postgres;
using Registry.Index.Search;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Postgres;

public class PostgresSearchIndexTests : SearchIndexContract
{
    private PostgresIndexDatabase _database = null!;
    private PostgresIndexDatabase? _second;
    private NpgsqlConnectionStringBuilder _settings = null!;
    private readonly List<PostgresIndexDatabase> _extra = [];

    protected override async Task<ISearchIndex> CreateIndexAsync()
    {
        var server = await PostgresServer.SharedAsync();
        _settings = new NpgsqlConnectionStringBuilder(server.ConnectionString(await server.CreateDatabaseAsync("search")));
        _database = await PostgresIndexDatabase.OpenAsync(_settings, CancellationToken.None);
        return await _database.OpenSearchIndexAsync(cacheResults: false, CancellationToken.None);
    }

    /// <remarks>A database object of its own, as another registry instance has: its own pool and caches.</remarks>
    protected override async Task<ISearchIndex> OpenSecondInstanceAsync()
    {
        _second = await PostgresIndexDatabase.OpenAsync(_settings, CancellationToken.None);
        return await _second.OpenSearchIndexAsync(cacheResults: false, CancellationToken.None);
    }

    protected override void DestroyIndex()
    {
        _second?.Dispose();
        _second = null;
        foreach (var database in _extra) database.Dispose();
        _extra.Clear();
        _database?.Dispose();
    }

    /// <remarks>
    /// The contract's second instance has no page cache: its test of a write seen by "the next search" of the other
    /// instance holds exactly then. With the cache, another instance's write is seen once its notification arrives;
    /// that is tested below.
    /// </remarks>
    private async Task<(PostgresIndexDatabase Database, ISearchIndex Index)> OpenInstanceAsync(bool cacheResults)
    {
        var database = await PostgresIndexDatabase.OpenAsync(_settings, CancellationToken.None);
        _extra.Add(database);
        return (database, await database.OpenSearchIndexAsync(cacheResults, CancellationToken.None));
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    [Test]
    public async Task Counts_kept_by_another_instance_follow_many_mixed_writes_through_the_change_log_and_a_pruned_gap()
    {
        var (_, writer) = await OpenInstanceAsync(cacheResults: false);
        var (_, reader) = await OpenInstanceAsync(cacheResults: false);
        var random = new Random(13);
        string[] words = ["redis", "web", "app", "db", "Cache", "ünï", "a_b", "x%"];
        string Word() => words[random.Next(words.Length)];
        var oracle = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        foreach (var i in Enumerable.Range(0, 300))
        {
            var entry = new SearchEntry($"{Word()}/{Word()}-{i}", i % 2 == 0 ? $"a {Word()} thing" : "", i % 7);
            oracle[entry.Name] = entry;
        }

        await writer.ReplaceAllAsync(oracle.Values, default);
        string[] queries = ["", "a", "redis", "web", "app", "db", "cache", "ünï", "a_b", "x%", "-1", "/", "thing", "zzz"];

        async Task ReaderAgreesAsync(string after)
        {
            foreach (var query in queries)
            {
                var expected = Expected(oracle.Values, query);
                var page = await reader.SearchAsync(query, 10, 2, default);
                page.NumResults.Should().Be(expected.Count, $"query '{query}' after {after}");
                page.Results.Should().Equal(expected.Skip(10).Take(10), $"query '{query}' after {after}");
            }
        }

        await ReaderAgreesAsync("the rebuild");
        for (var round = 0; round < 25; round++)
        {
            foreach (var _ in Enumerable.Range(0, random.Next(1, 6)))
            {
                var names = oracle.Keys.ToList();
                switch (random.Next(4))
                {
                    case 0:
                        var added = $"{Word()}/{Word()}-n{round}-{random.Next(1000)}";
                        await writer.AddRepositoryAsync(added, default);
                        oracle.TryAdd(added, new SearchEntry(added, ""));
                        break;
                    case 1:
                        var described = names[random.Next(names.Count)];
                        var description = random.Next(3) == 0 ? "" : $"now {Word()} and {Word()}";
                        await writer.SetDescriptionAsync(described, description, default);
                        oracle[described] = oracle[described] with { Description = description };
                        break;
                    case 2:
                        var removed = names[random.Next(names.Count)];
                        await writer.RemoveRepositoryAsync(removed, default);
                        oracle.Remove(removed);
                        break;
                    default:
                        // Changes nothing: no generation, nothing logged.
                        await writer.AddRepositoryAsync(names[random.Next(names.Count)], default);
                        break;
                }
            }

            if (round == 12)
            {
                // As pruning does to an instance that has not searched for long: the reader must recount.
                await ExecuteAsync("DELETE FROM search_changes");
            }

            await ReaderAgreesAsync($"round {round}");
        }

        (await ScalarAsync("SELECT count(*) FROM search_changes")).Should().BeGreaterThan(0, "the writes after the prune are logged");
    }

    [Test]
    public async Task A_cached_page_is_dropped_by_a_write_on_either_instance_and_bypassed_while_not_listening()
    {
        var (_, a) = await OpenInstanceAsync(cacheResults: true);
        var (_, b) = await OpenInstanceAsync(cacheResults: true);
        await a.ReplaceAllAsync([new SearchEntry("team/redis", "a cache", 3), new SearchEntry("team/web", "", 1)], default);
        await WaitForListenersAsync(2);

        async Task<string> DescriptionAsync(ISearchIndex index) => (await index.SearchAsync("redis", 10, 1, default)).Results.Single().Description;

        (await DescriptionAsync(a)).Should().Be("a cache");
        (await DescriptionAsync(b)).Should().Be("a cache");

        // A change that neither logs nor notifies (triggers off) stays unseen by a cached page: the cache serves.
        await ExecuteAsync("""
            ALTER TABLE search_repositories DISABLE TRIGGER USER;
            UPDATE search_repositories SET description = 'hidden', description_lower = 'hidden' WHERE name = 'team/redis';
            ALTER TABLE search_repositories ENABLE TRIGGER USER;
            """);
        (await DescriptionAsync(b)).Should().Be("a cache", "the page was cached and nothing was notified");

        // The writing instance sees its own write at once; the other once the notification arrives.
        await a.SetDescriptionAsync("team/redis", "written on a", default);
        (await DescriptionAsync(a)).Should().Be("written on a");
        (await EventuallyAsync(() => DescriptionAsync(b), "written on a")).Should().BeTrue();
        await b.SetDescriptionAsync("team/redis", "written on b", default);
        (await DescriptionAsync(b)).Should().Be("written on b");
        (await EventuallyAsync(() => DescriptionAsync(a), "written on b")).Should().BeTrue();

        // Without its listening connection an instance does not serve cached pages, and it listens again.
        (await ScalarAsync($"""
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = '{PostgresSearchPageCacheName}' AND datname = current_database()
            """)).Should().Be(2);
        await ExecuteAsync("UPDATE search_repositories SET description = 'unnotified', description_lower = 'unnotified' WHERE name = 'team/redis'");
        (await EventuallyAsync(() => DescriptionAsync(b), "unnotified")).Should().BeTrue();
        await WaitForListenersAsync(2);
        await a.SetDescriptionAsync("team/redis", "after reconnecting", default);
        (await EventuallyAsync(() => DescriptionAsync(b), "after reconnecting")).Should().BeTrue();
    }

    private const string PostgresSearchPageCacheName = "registry search listener";

    private static async Task<bool> EventuallyAsync(Func<Task<string>> read, string expected)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (await read() == expected) return true;
            await Task.Delay(50);
        }

        return false;
    }

    private async Task WaitForListenersAsync(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var listening = await ScalarAsync($"""
                SELECT count(*) FROM pg_stat_activity
                 WHERE application_name = '{PostgresSearchPageCacheName}' AND datname = current_database()
                   AND state = 'idle' AND query LIKE 'SELECT generation%'
                """);
            if (listening == count) return;
            await Task.Delay(50);
        }

        Assert.Fail($"{count} search listeners did not connect within 10 s");
    }
}
