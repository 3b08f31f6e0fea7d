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

    [Test]
    public async Task Kept_page_positions_survive_unrelated_writes_and_never_outlive_a_renumbering_or_a_matching_write()
    {
        // Page cache off: every page is read from the database, so a repeated or next page starts from the positions
        // kept for its term. Rows of "app" and rows without it alternate in result order (all unstarred, by name).
        var oracle = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        foreach (var i in Enumerable.Range(0, 300))
        {
            oracle[$"k{i:D3}/app"] = new SearchEntry($"k{i:D3}/app", i % 3 == 0 ? "an app" : "", i % 50 == 0 ? 2 : 0);
            oracle[$"k{i:D3}/web"] = new SearchEntry($"k{i:D3}/web", i % 4 == 0 ? "serves apps" : "", 0);
        }

        await Sqlite.ReplaceAllAsync(oracle.Values, default);
        Sqlite.CacheResults = false;
        string[] queries = ["app", "pp", "p", "k1", "apps"];

        async Task EveryPageAgreesAsync(string after)
        {
            foreach (var query in queries)
            {
                var expected = Expected(oracle.Values, query);
                // Forward, then backward and repeated: each read starts from positions the earlier reads kept.
                var pages = Enumerable.Range(1, (expected.Count + 9) / 10).ToList();
                foreach (var page in pages.Concat(Enumerable.Reverse(pages)).Concat(pages))
                {
                    var result = await Sqlite.SearchAsync(query, 10, page, default);
                    var because = $"query '{query}', page {page} after {after}";
                    result.NumResults.Should().Be(expected.Count, because);
                    result.Results.Should().Equal(expected.Skip((page - 1) * 10).Take(10), because);
                }
            }
        }

        await EveryPageAgreesAsync("the rebuild");
        // Rows matching none of the queries, each put into the same gap right after k150/web: the gap is used up
        // after about 24 and the rows around it, rows of "app" among them, get new order keys.
        var name = "k150/web";
        for (var i = 0; i < 40; i++)
        {
            name += "z";
            await Sqlite.AddRepositoryAsync(name, default);
            oracle[name] = new SearchEntry(name, "");
            await EveryPageAgreesAsync($"{i + 1} unrelated inserts into one gap");
        }

        foreach (var (row, description) in new[] { ("k200/web", "an app too"), ("k010/app", ""), ("k296/web", "") })
        {
            await Sqlite.SetDescriptionAsync(row, description, default);
            oracle[row] = oracle[row] with { Description = description };
            await EveryPageAgreesAsync($"the description of {row} set to '{description}'");
        }

        await Sqlite.RemoveRepositoryAsync("k000/app", default);
        oracle.Remove("k000/app");
        await Sqlite.AddRepositoryAsync("a/app", default);
        oracle["a/app"] = new SearchEntry("a/app", "");
        await EveryPageAgreesAsync("a matching removal and insert before every position");
    }
}
