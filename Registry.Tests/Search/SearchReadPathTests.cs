using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Database.Sqlite;
using Registry.Index.Search;
using Registry.Tests.Support;

namespace Registry.Tests.Search;

/// <summary>
/// The read path keeps connections, prepared statements and recent pages between searches; none of that
/// may ever hide a committed write, whichever connection or instance (standing in for another process on
/// the same file) made it.
/// </summary>
public class SearchReadPathTests
{
    private SqliteTestDirectory _directory = null!;
    private SqliteSearchIndex _reader = null!;
    private SqliteSearchIndex _writer = null!;

    [SetUp]
    public async Task SetUp()
    {
        _directory = new SqliteTestDirectory();
        _reader = await SqliteSearchIndex.OpenAsync(_directory.File("index.db"), default);
        _writer = await SqliteSearchIndex.OpenAsync(_directory.File("index.db"), default);
    }

    [TearDown]
    public void TearDown()
    {
        _reader.Dispose();
        _writer.Dispose();
        _directory.Dispose();
    }

    [Test]
    public async Task A_repeated_search_sees_every_write_of_another_instance()
    {
        await _writer.AddRepositoryAsync("team/cached-app", default);
        (await _reader.SearchAsync("cached", 25, 1, default)).Should().BeEquivalentTo(
            new SearchPage(1, [new SearchEntry("team/cached-app", "")]));
        (await _reader.SearchAsync("cached", 25, 1, default)).NumResults.Should().Be(1);

        await _writer.SetDescriptionAsync("team/cached-app", "now described", default);
        (await _reader.SearchAsync("cached", 25, 1, default)).Should().BeEquivalentTo(
            new SearchPage(1, [new SearchEntry("team/cached-app", "now described")]));

        await _writer.AddRepositoryAsync("library/cached", default);
        (await _reader.SearchAsync("CACHED", 25, 1, default)).Results.Select(e => e.Name).Should()
            .Equal("library/cached", "team/cached-app");

        await _writer.RemoveRepositoryAsync("library/cached", default);
        await _writer.RemoveRepositoryAsync("team/cached-app", default);
        (await _reader.SearchAsync("cached", 25, 1, default)).Should().BeEquivalentTo(new SearchPage(0, []));
    }

    [Test]
    public async Task A_repeated_search_sees_a_rebuild_and_short_terms_follow_it()
    {
        await _writer.AddRepositoryAsync("team/old", default);
        (await _reader.SearchAsync("o", 25, 1, default)).NumResults.Should().Be(1);

        await _writer.ReplaceAllAsync([new SearchEntry("ns/one", ""), new SearchEntry("ns/two", "")], default);

        (await _reader.SearchAsync("o", 25, 1, default)).Results.Select(e => e.Name).Should().Equal("ns/one", "ns/two");
        (await _reader.SearchAsync("old", 25, 1, default)).NumResults.Should().Be(0);
    }

    [Test]
    public async Task Every_write_is_visible_to_the_next_search_while_others_search_concurrently()
    {
        const int writes = 120;
        const int workers = 4;
        using var stop = new CancellationTokenSource();
        using var running = new CountdownEvent(workers);
        var background = Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            var terms = new[] { "repo", "re", "", "repo-1", "zz" };
            var searches = 0;
            while (!stop.IsCancellationRequested)
            {
                var found = await _reader.SearchAsync(terms[searches % terms.Length], 10, 1 + searches % 3, default);
                found.Results.Count.Should().BeLessThanOrEqualTo(10);
                if (searches++ == 0)
                {
                    running.Signal();
                }

                // A search completes synchronously; yielding lets the writer and the other workers run.
                await Task.Yield();
            }

            return searches;
        })).ToList();
        running.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue("every background worker starts searching");

        for (var i = 0; i < writes; i++)
        {
            var name = $"team/repo-{i:D3}";
            await _writer.AddRepositoryAsync(name, default);
            var exact = await _reader.SearchAsync($"repo-{i:D3}", 25, 1, default);
            exact.Results.Select(e => e.Name).Should().Equal(name);
            (await _reader.SearchAsync("repo", 25, 1, default)).NumResults.Should().Be(i + 1);
        }

        await stop.CancelAsync();
        (await Task.WhenAll(background)).Should().OnlyContain(searches => searches > 0);

        var all = await _reader.SearchAsync("REPO-", 100, 2, default);
        all.NumResults.Should().Be(writes);
        all.Results.Select(e => e.Name).Should().Equal(
            Enumerable.Range(100, 20).Select(i => $"team/repo-{i:D3}"));
    }

    [Test]
    public async Task Concurrent_searches_answer_exactly_what_a_lone_search_answers()
    {
        await _writer.ReplaceAllAsync(Enumerable.Range(0, 300).Select(i => new SearchEntry(
            $"{(i % 3 == 0 ? "library" : "team")}/{(i % 2 == 0 ? "alpha" : "beta")}-{i:D3}",
            i % 5 == 0 ? "alphabet soup" : "", i % 7)), default);
        (string Term, int Size, int Page)[] queries =
            [("alpha", 25, 1), ("alpha", 25, 3), ("al", 10, 2), ("", 50, 4), ("beta-0", 25, 1), ("soup", 7, 2), ("LIBRARY/", 30, 2)];
        var expected = new List<SearchPage>();
        foreach (var (term, size, page) in queries)
        {
            expected.Add(await _reader.SearchAsync(term, size, page, default));
        }

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(worker => Task.Run(async () =>
        {
            var seen = new List<(int Query, SearchPage Page)>();
            for (var i = 0; i < 40; i++)
            {
                var q = (worker + i) % queries.Length;
                // A second instance has no cached pages, so this compares real reads too.
                var index = i % 2 == 0 ? _reader : _writer;
                seen.Add((q, await index.SearchAsync(queries[q].Term, queries[q].Size, queries[q].Page, default)));
            }

            return seen;
        })));

        foreach (var (query, page) in results.SelectMany(r => r))
        {
            page.Should().BeEquivalentTo(expected[query], o => o.WithStrictOrdering());
        }

        expected[0].NumResults.Should().Be(180); // 150 names and 30 descriptions of beta rows
        expected[3].Results.Should().HaveCount(50);
    }

    [Test]
    public async Task Counts_kept_between_searches_follow_every_write_of_another_instance_or_connection()
    {
        // Without the page cache only the per-version counts are kept between searches.
        _reader.CacheResults = false;
        await _writer.ReplaceAllAsync(Enumerable.Range(0, 60).Select(i => new SearchEntry(
            $"team/count-{i:D2}", i % 4 == 0 ? "counted twice" : "")), default);
        (await _reader.SearchAsync("count", 25, 3, default)).Should().BeEquivalentTo(new SearchPage(60,
            [.. Enumerable.Range(50, 10).Select(i => new SearchEntry($"team/count-{i:D2}", i % 4 == 0 ? "counted twice" : ""))]),
            o => o.WithStrictOrdering());

        await _writer.AddRepositoryAsync("library/count", default);
        await _writer.RemoveRepositoryAsync("team/count-00", default);
        await _writer.SetDescriptionAsync("zz/other", "Count me in", default);
        var page = await _reader.SearchAsync("count", 25, 3, default);
        page.NumResults.Should().Be(61);
        page.Results.Select(e => e.Name).Should().Equal(
            Enumerable.Range(50, 10).Select(i => $"team/count-{i:D2}").Append("zz/other"));
        (await _reader.SearchAsync("count", 25, 1, default)).Results[0].Name.Should().Be("library/count");

        // A change made through a plain connection (as another process would) goes through the triggers too.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_writer.FilePath}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE search_repositories SET star_count = 5 WHERE name = 'team/count-59'";
            await command.ExecuteNonQueryAsync();
            command.CommandText = "DELETE FROM search_repositories WHERE name = 'team/count-58'";
            await command.ExecuteNonQueryAsync();
        }

        page = await _reader.SearchAsync("count", 25, 1, default);
        page.NumResults.Should().Be(60);
        page.Results.Take(2).Select(e => e.Name).Should().Equal("library/count", "team/count-59");
        (await _reader.SearchAsync("count", 25, 3, default)).Results.Select(e => e.Name).Should().Equal(
            Enumerable.Range(49, 9).Select(i => $"team/count-{i:D2}").Append("zz/other"));
    }

    [Test]
    public async Task Counts_carried_over_by_the_writing_instance_equal_fresh_counts_after_random_writes()
    {
        // The writer keeps the counts of the terms its write cannot affect; the reader, which sees each write
        // as another process would, counts every term afresh. Every page of both must be identical.
        _writer.CacheResults = false;
        _reader.CacheResults = false;
        var random = new Random(7);
        string[] words = ["redis", "red", "dis", "cache", "ca", "e", "q", "zq", "ÄPFEL", "äpfel", "apf", "x/y"];
        string Text() => string.Join(random.Next(2) == 0 ? "-" : " ", Enumerable.Range(0, random.Next(1, 3)).Select(_ => words[random.Next(words.Length)]));
        string Name() => $"{(random.Next(3) == 0 ? "library" : Text().Replace(' ', '-'))}/{Text().Replace(' ', '_')}-{random.Next(40)}";
        await _writer.ReplaceAllAsync(Enumerable.Range(0, 150).Select(_ => new SearchEntry(
            Name(), random.Next(3) == 0 ? Text() : "", random.Next(4) == 0 ? random.Next(50) : 0)).DistinctBy(e => e.Name), default);
        string[] terms = ["", "e", "q", "zq", "re", "redis", "red", "dis", "cache", "äpfel", "apf", "x/y", "library", "s-", "/"];

        for (var write = 0; write < 60; write++)
        {
            foreach (var term in terms)
            {
                foreach (var page in new[] { 1, 3, 6 })
                {
                    var kept = await _writer.SearchAsync(term, 10, page, default);
                    var fresh = await _reader.SearchAsync(term, 10, page, default);
                    kept.Should().BeEquivalentTo(fresh, o => o.WithStrictOrdering(), $"'{term}' page {page} after {write} writes");
                }
            }

            var name = Name();
            switch (random.Next(3))
            {
                case 0:
                    await _writer.AddRepositoryAsync(name, default);
                    break;
                case 1:
                    await _writer.SetDescriptionAsync(name, Text(), default);
                    break;
                default:
                    await _writer.RemoveRepositoryAsync(name, default);
                    break;
            }
        }
    }

    [Test]
    public async Task A_disposed_index_refuses_searches()
    {
        await _reader.SearchAsync("x", 25, 1, default);
        _reader.Dispose();

        var act = () => _reader.SearchAsync("x", 25, 1, default);
        await act.Should().ThrowAsync<ObjectDisposedException>();
    }
}
