using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Database.Sqlite;
using Registry.Index.Search;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Sqlite;

public class SqliteSearchIndexTests : SearchIndexContract
{
    private TempDirectory _directory = null!;

    private SqliteSearchIndex Sqlite => (SqliteSearchIndex)Index;

    protected override async Task<ISearchIndex> CreateIndexAsync()
    {
        _directory = new TempDirectory();
        return await SqliteSearchIndex.OpenAsync(_directory.File("index.db"), CancellationToken.None);
    }

    private SqliteSearchIndex? _second;

    protected override async Task<ISearchIndex> OpenSecondInstanceAsync() =>
        _second = await SqliteSearchIndex.OpenAsync(_directory.File("index.db"), CancellationToken.None);

    protected override void DestroyIndex()
    {
        _second?.Dispose();
        _second = null;
        _directory.Dispose();
    }

    [Test]
    public async Task Rows_added_into_one_gap_until_it_is_renumbered_keep_the_oracle_order()
    {
        // Each name sorts right after the previous one and before "m/b", so every insert halves the same gap:
        // after about 24 the neighbourhood has to be renumbered, and again later.
        var random = new Random(99);
        var oracle = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        foreach (var entry in new[] { new SearchEntry("m/a", "", 0), new SearchEntry("m/b", "about m", 0), new SearchEntry("top/m", "", 9) })
        {
            oracle[entry.Name] = entry;
        }

        await Sqlite.ReplaceAllAsync(oracle.Values, default);
        var name = "m/a";
        for (var i = 0; i < 120; i++)
        {
            name += i % 2 == 0 ? "a" : "b";
            oracle[name] = new SearchEntry(name, i % 5 == 0 ? "about redis" : "");
            await Sqlite.SetDescriptionAsync(name, oracle[name].Description, default);
        }

        // A change of a star count made outside the registry moves the row too.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Sqlite.FilePath}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE search_repositories SET star_count = 4 WHERE name = 'm/aab'";
            await command.ExecuteNonQueryAsync();
        }

        oracle["m/aab"] = oracle["m/aab"] with { StarCount = 4 };
        Sqlite.CacheResults = false;
        await CompareAsync(oracle, random);
        (await Names("m/")).Should().Equal(Expected(oracle.Values, "m/").Select(e => e.Name).Take(100));
    }
}
