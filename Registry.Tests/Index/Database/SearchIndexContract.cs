using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Search;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database;

/// <summary>
/// What every <see cref="ISearchIndex"/> engine must do (Docker Registry HTTP API V1, 'Search'). An engine gets
/// a derived fixture that opens a fresh, empty index per test and may add checks of its own database.
/// </summary>
public abstract class SearchIndexContract
{
    private ISearchIndex _index = null!;

    /// <summary>A fresh, empty index; called before every test.</summary>
    protected abstract Task<ISearchIndex> CreateIndexAsync();

    /// <summary>
    /// Another index object over the database of <see cref="CreateIndexAsync"/>, as a second registry instance
    /// sharing it opens one (with its own caches); the fixture releases it in <see cref="DestroyIndex"/>.
    /// </summary>
    protected abstract Task<ISearchIndex> OpenSecondInstanceAsync();

    /// <summary>Called after every test to release what <see cref="CreateIndexAsync"/> made.</summary>
    protected virtual void DestroyIndex()
    {
    }

    protected ISearchIndex Index => _index;

    [SetUp]
    public async Task CreateIndexForTest() => _index = await CreateIndexAsync();

    [TearDown]
    public void DestroyIndexAfterTest()
    {
        (_index as IDisposable)?.Dispose();
        DestroyIndex();
    }

    [Test]
    public async Task Add_inserts_with_an_empty_description_and_is_idempotent()
    {
        await _index.AddRepositoryAsync("library/busybox", default);
        await _index.AddRepositoryAsync("library/busybox", default);

        (await _index.CountAsync(default)).Should().Be(1);
        (await _index.SearchAsync("busybox", 25, 1, default)).Should().BeEquivalentTo(
            new SearchPage(1, [new SearchEntry("library/busybox", "")]));
    }

    [Test]
    public async Task Add_keeps_an_existing_description()
    {
        await _index.SetDescriptionAsync("team/app", "The app", default);
        await _index.AddRepositoryAsync("team/app", default);

        var page = await _index.SearchAsync("app", 25, 1, default);
        page.Results.Should().Equal(new SearchEntry("team/app", "The app"));
    }

    [Test]
    public async Task SetDescription_adds_replaces_and_clears()
    {
        await _index.SetDescriptionAsync("team/app", "first words", default);
        (await _index.SearchAsync("first", 25, 1, default)).NumResults.Should().Be(1);

        await _index.SetDescriptionAsync("team/app", "second words", default);
        (await _index.SearchAsync("first", 25, 1, default)).NumResults.Should().Be(0);
        (await _index.SearchAsync("second", 25, 1, default)).Results.Should()
            .Equal(new SearchEntry("team/app", "second words"));

        await _index.SetDescriptionAsync("team/app", "", default);
        (await _index.SearchAsync("words", 25, 1, default)).NumResults.Should().Be(0);
        (await _index.SearchAsync("", 25, 1, default)).Results.Should().Equal(new SearchEntry("team/app", ""));
        (await _index.CountAsync(default)).Should().Be(1);
    }

    [Test]
    public async Task Remove_deletes_and_ignores_absent_names()
    {
        await _index.SetDescriptionAsync("team/app", "an app", default);
        await _index.AddRepositoryAsync("team/other", default);

        await _index.RemoveRepositoryAsync("team/app", default);
        await _index.RemoveRepositoryAsync("team/never-there", default);

        (await _index.CountAsync(default)).Should().Be(1);
        (await _index.SearchAsync("app", 25, 1, default)).NumResults.Should().Be(0);
        (await _index.SearchAsync("pp", 25, 1, default)).NumResults.Should().Be(0);
        (await _index.SearchAsync("", 25, 1, default)).Should().BeEquivalentTo(
            new SearchPage(1, [new SearchEntry("team/other", "")]));
    }

    [TestCase("%")]
    [TestCase("_")]
    [TestCase("\"")]
    [TestCase("'")]
    [TestCase("*")]
    [TestCase("a%b")]
    [TestCase("a_b")]
    [TestCase("x\"y")]
    [TestCase("it's")]
    [TestCase("na*")]
    [TestCase("'; DROP TABLE search_repositories; --")]
    [TestCase("AND")]
    [TestCase("x AND y")]
    [TestCase("NEAR(")]
    [TestCase("NEAR(a b)")]
    [TestCase("\"quoted\"")]
    [TestCase("name_t : x")]
    [TestCase("{desc_t}")]
    [TestCase("^start")]
    public async Task Query_text_is_matched_literally(string query)
    {
        // Each literal sits in a description next to decoys that only a wildcard or an operator would match.
        await _index.SetDescriptionAsync("lit/target", "before " + query + " after", default);
        await _index.SetDescriptionAsync("lit/decoy", "a b x y na it s quoted start DROP NEAR xAyz aXb", default);
        await _index.AddRepositoryAsync("lit/plain", default);

        var page = await _index.SearchAsync(query, 25, 1, default);

        page.NumResults.Should().Be(1);
        page.Results.Should().Equal(new SearchEntry("lit/target", "before " + query + " after"));
        (await _index.CountAsync(default)).Should().Be(3);
    }

    [Test]
    public async Task Matching_ignores_case_including_non_ascii()
    {
        await _index.SetDescriptionAsync("intl/ünïcode-tools", "Outils pour ÉCRIRE", default);
        await _index.AddRepositoryAsync("Intl/MixedCase", default);

        (await _index.SearchAsync("Ünïcode", 25, 1, default)).Results.Select(r => r.Name).Should()
            .Equal("intl/ünïcode-tools");
        (await _index.SearchAsync("ÜN", 25, 1, default)).Results.Select(r => r.Name).Should()
            .Equal("intl/ünïcode-tools");
        (await _index.SearchAsync("é", 25, 1, default)).Results.Select(r => r.Name).Should()
            .Equal("intl/ünïcode-tools");
        (await _index.SearchAsync("écrire", 25, 1, default)).Results.Select(r => r.Name).Should()
            .Equal("intl/ünïcode-tools");
        (await _index.SearchAsync("MIXEDcase", 25, 1, default)).Results.Select(r => r.Name).Should()
            .Equal("Intl/MixedCase");
        (await _index.SearchAsync("INTL/", 25, 1, default)).NumResults.Should().Be(2);
    }

    [Test]
    public async Task Terms_of_every_length_match_substrings()
    {
        await _index.ReplaceAllAsync([
            new SearchEntry("alpha/one", ""),
            new SearchEntry("beta/two", "x marks"),
            new SearchEntry("gamma/three", ""),
            new SearchEntry("delta/xyz", ""),
        ], default);

        (await Names("x")).Should().Equal("delta/xyz", "beta/two");
        (await Names("e")).Should().Equal("alpha/one", "beta/two", "delta/xyz", "gamma/three");
        (await Names("ta")).Should().Equal("beta/two", "delta/xyz");
        (await Names("a/t")).Should().Equal("beta/two", "gamma/three");
        (await Names("hree")).Should().Equal("gamma/three");
        (await Names("")).Should().Equal("alpha/one", "beta/two", "delta/xyz", "gamma/three");
        (await Names("q")).Should().BeEmpty();
        (await Names("qq")).Should().BeEmpty();
        (await Names("qqq")).Should().BeEmpty();
        (await _index.SearchAsync("", 25, 1, default)).NumResults.Should().Be(4);
    }

    [Test]
    public async Task Results_follow_relevance_tiers_then_stars_then_name()
    {
        await _index.ReplaceAllAsync([
            new SearchEntry("zeta/redis", ""),
            new SearchEntry("alpha/redis", "", 1),
            new SearchEntry("redis/server", ""),
            new SearchEntry("beta/redis-cluster", "", 5),
            new SearchEntry("gamma/redis-cluster", "", 5),
            new SearchEntry("team/myredis", ""),
            new SearchEntry("team/aredis", "", 2),
            new SearchEntry("redisfan/x", "", 3),
            new SearchEntry("team/cache", "A Redis cache", 9),
            new SearchEntry("team/store", "redis compatible"),
            new SearchEntry("team/unrelated", "nothing here"),
        ], default);

        var page = await _index.SearchAsync("Redis", 25, 1, default);

        page.NumResults.Should().Be(10);
        page.Results.Select(r => r.Name).Should().Equal(
            // repository part equals the term
            "alpha/redis", "zeta/redis",
            // name or repository part starts with the term
            "beta/redis-cluster", "gamma/redis-cluster", "redisfan/x", "redis/server",
            // elsewhere in the name
            "team/aredis", "team/myredis",
            // description only
            "team/cache", "team/store");
    }

    [Test]
    public async Task Short_terms_follow_the_same_tiers()
    {
        await _index.ReplaceAllAsync([
            new SearchEntry("ns/b", ""),
            new SearchEntry("b/first", ""),
            new SearchEntry("ns/bee", "", 1),
            new SearchEntry("ns/abc", ""),
            new SearchEntry("ns/cab", "", 4),
            new SearchEntry("ns/zzz", "b in text"),
        ], default);

        (await Names("B")).Should().Equal("ns/b", "ns/bee", "b/first", "ns/cab", "ns/abc", "ns/zzz");
    }

    [Test]
    public async Task Walking_every_page_yields_each_match_once_in_order()
    {
        var names = Enumerable.Range(0, 30).Select(i => $"ns{i % 3}/match-{i:D2}").ToList();
        await _index.ReplaceAllAsync(
            names.Select((name, i) => new SearchEntry(name, "", i % 4))
                .Append(new SearchEntry("other/thing", "")), default);
        var expected = names.Select((name, i) => (name, stars: i % 4))
            .OrderByDescending(x => x.stars).ThenBy(x => x.name, StringComparer.Ordinal)
            .Select(x => x.name).ToList();

        var walked = new List<string>();
        for (var page = 1; page <= 5; page++)
        {
            var result = await _index.SearchAsync("match", 7, page, default);
            result.NumResults.Should().Be(30);
            result.Results.Count.Should().Be(page < 5 ? 7 : 2);
            walked.AddRange(result.Results.Select(r => r.Name));
        }

        walked.Should().Equal(expected);
        var past = await _index.SearchAsync("match", 7, 6, default);
        past.Should().BeEquivalentTo(new SearchPage(30, []));
        (await _index.SearchAsync("match", 7, 1000, default)).Should().BeEquivalentTo(new SearchPage(30, []));
        (await _index.SearchAsync("", 7, 6, default)).Should().BeEquivalentTo(new SearchPage(31, []));
    }

    [Test]
    public async Task ReplaceAll_replaces_everything_and_later_writes_stay_consistent()
    {
        await _index.SetDescriptionAsync("old/one", "old text", default);
        await _index.ReplaceAllAsync([
            new SearchEntry("new/one", "fresh"),
            new SearchEntry("new/two", ""),
            new SearchEntry("new/two", "last one wins"),
        ], default);

        (await _index.CountAsync(default)).Should().Be(2);
        (await Names("old")).Should().BeEmpty();
        (await _index.SearchAsync("new", 25, 1, default)).Results.Should().Equal(
            new SearchEntry("new/one", "fresh"), new SearchEntry("new/two", "last one wins"));

        await _index.AddRepositoryAsync("new/three", default);
        await _index.RemoveRepositoryAsync("new/one", default);
        (await Names("new")).Should().Equal("new/three", "new/two");
        (await Names("n")).Should().Equal("new/three", "new/two");
        (await Names("fresh")).Should().BeEmpty();

        await _index.ReplaceAllAsync([], default);
        (await _index.CountAsync(default)).Should().Be(0);
        (await _index.SearchAsync("", 25, 1, default)).Should().BeEquivalentTo(new SearchPage(0, []));
    }

    [Test]
    public async Task Names_directly_under_a_prefix_are_listed_by_exact_case_without_deeper_ones()
    {
        await _index.ReplaceAllAsync(
            new[] { "a/x", "a/y", "a/y/z", "ab/c", "A/q", "a%/w", "solo", "sol/o", "a" }.Select(n => new SearchEntry(n, "")), default);

        (await _index.ListNamesUnderAsync("a/", default)).Should().BeEquivalentTo("a/x", "a/y");
        (await _index.ListNamesUnderAsync("A/", default)).Should().BeEquivalentTo("A/q");
        (await _index.ListNamesUnderAsync("a%/", default)).Should().BeEquivalentTo("a%/w");
        (await _index.ListNamesUnderAsync("a/y/", default)).Should().BeEquivalentTo("a/y/z");
        (await _index.ListNamesUnderAsync("", default)).Should().BeEquivalentTo("solo", "a");
        (await _index.ListNamesUnderAsync("none/", default)).Should().BeEmpty();
    }

    [Test]
    public async Task Search_agrees_with_a_brute_force_oracle_after_bulk_load_and_writes()
    {
        var random = new Random(1234);
        string[] parts = ["lib", "app", "web", "data", "ab", "Ünï", "x_y", "a%b", "srv", "db", "redis", "ba"];
        string Word() => parts[random.Next(parts.Length)] + (random.Next(3) == 0 ? parts[random.Next(parts.Length)] : "");
        var oracle = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        for (var i = 0; i < 400; i++)
        {
            var name = $"{Word()}/{Word()}-{i % 7}";
            oracle[name] = new SearchEntry(name, random.Next(5) == 0 ? $"about {Word()} {Word()}" : "", random.Next(3));
        }

        await _index.ReplaceAllAsync(oracle.Values, default);
        await CompareAsync(oracle, random);

        // Single writes keep the counters and the full-text index in step.
        foreach (var name in oracle.Keys.Take(60).ToList())
        {
            oracle.Remove(name);
            await _index.RemoveRepositoryAsync(name, default);
        }

        foreach (var name in oracle.Keys.Take(60).ToList())
        {
            var description = random.Next(2) == 0 ? "" : $"now {Word()}";
            oracle[name] = oracle[name] with { Description = description };
            await _index.SetDescriptionAsync(name, description, default);
        }

        for (var i = 0; i < 60; i++)
        {
            var name = $"{Word()}/added-{Word()}";
            oracle.TryAdd(name, new SearchEntry(name, ""));
            await _index.AddRepositoryAsync(name, default);
        }

        await CompareAsync(oracle, random);
    }

    [Test]
    public async Task A_write_through_one_instance_is_seen_by_the_next_search_of_another_with_its_total()
    {
        var other = await OpenSecondInstanceAsync();
        var oracle = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        foreach (var i in Enumerable.Range(0, 40))
        {
            var entry = new SearchEntry($"ns{i % 4}/app-{i}", i % 3 == 0 ? "a redis cache" : "", i % 5);
            oracle[entry.Name] = entry;
        }

        await _index.ReplaceAllAsync(oracle.Values, default);
        string[] queries = ["", "a", "app", "app-1", "redis", "ns1/", "new", "q"];

        async Task BothAgreeWithOracleAsync(string after)
        {
            foreach (var query in queries)
            {
                var expected = Expected(oracle.Values, query);
                foreach (var (index, which) in new[] { (_index, "writer"), (other, "other instance") })
                {
                    // Page 2 of 7 so that a stale total or a stale tier split shows in the page as well.
                    var page = await index.SearchAsync(query, 7, 2, default);
                    var because = $"query '{query}' on the {which} after {after}";
                    page.NumResults.Should().Be(expected.Count, because);
                    page.Results.Should().Equal(expected.Skip(7).Take(7), because);
                }
            }
        }

        // Both instances have counted every query before each write: what they kept must not outlive the write.
        await BothAgreeWithOracleAsync("the rebuild");
        await _index.AddRepositoryAsync("new/app", default);
        oracle["new/app"] = new SearchEntry("new/app", "");
        await BothAgreeWithOracleAsync("an add");
        await other.SetDescriptionAsync("ns1/app-1", "now with redis", default);
        oracle["ns1/app-1"] = oracle["ns1/app-1"] with { Description = "now with redis" };
        await BothAgreeWithOracleAsync("a description set by the other instance");
        await _index.RemoveRepositoryAsync("ns0/app-0", default);
        oracle.Remove("ns0/app-0");
        await BothAgreeWithOracleAsync("a removal");
        await other.ReplaceAllAsync(oracle.Values.Where(e => !e.Name.EndsWith('3')), default);
        foreach (var name in oracle.Keys.Where(n => n.EndsWith('3')).ToList()) oracle.Remove(name);
        await BothAgreeWithOracleAsync("a rebuild by the other instance");
    }

    [Test]
    public async Task Deep_pages_of_large_tiers_follow_the_oracle_on_every_page_and_after_writes()
    {
        // Hundreds of rows per tier, so that pages start far into a tier (an engine may resume from kept positions there).
        var random = new Random(7);
        var oracle = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        foreach (var i in Enumerable.Range(0, 900))
        {
            var name = $"{(i % 3 == 0 ? "app" : "ns" + i % 7)}/{(i % 2 == 0 ? "app" : "web")}-{i}";
            oracle[name] = new SearchEntry(name, i % 4 == 0 ? "an app server" : "", random.Next(3));
        }

        await _index.ReplaceAllAsync(oracle.Values, default);
        foreach (var round in new[] { "the rebuild", "writes" })
        {
            foreach (var query in new[] { "", "app", "a", "ser", "-1" })
            {
                var expected = Expected(oracle.Values, query);
                foreach (var pageSize in new[] { 25, 97 })
                {
                    for (var page = 1; page <= (expected.Count + pageSize - 1) / pageSize + 1; page++)
                    {
                        var result = await _index.SearchAsync(query, pageSize, page, default);
                        var because = $"query '{query}', page {page} of size {pageSize} after {round}";
                        result.NumResults.Should().Be(expected.Count, because);
                        result.Results.Should().Equal(expected.Skip((page - 1) * pageSize).Take(pageSize), because);
                    }
                }
            }

            foreach (var i in Enumerable.Range(0, 30))
            {
                var name = $"app/extra-{i}";
                await _index.SetDescriptionAsync(name, "more app", default);
                oracle[name] = new SearchEntry(name, "more app");
                var gone = oracle.Keys.ElementAt(random.Next(oracle.Count));
                await _index.RemoveRepositoryAsync(gone, default);
                oracle.Remove(gone);
            }
        }
    }

    [Test]
    public async Task Deep_pages_on_another_instance_follow_inserts_and_removals_before_between_and_after_their_rows()
    {
        // Every tier of "app" holds hundreds of rows: the reading instance keeps positions deep in each (an engine
        // may shift them by the writes of the other instance rather than find them again), and writes land before
        // the page, inside it, after it, on the rows a position names, and in bursts that crowd one stretch.
        var reader = await OpenSecondInstanceAsync();
        var random = new Random(21);
        var oracle = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        void Put(SearchEntry entry) => oracle[entry.Name] = entry;
        foreach (var i in Enumerable.Range(0, 250)) Put(new SearchEntry($"ns{i:D3}/app", "", random.Next(4)));
        foreach (var i in Enumerable.Range(0, 300)) Put(new SearchEntry($"app/svc-{i:D3}", i % 5 == 0 ? "an app" : "", random.Next(4)));
        foreach (var i in Enumerable.Range(0, 300)) Put(new SearchEntry($"t{i % 9}/my-app-{i:D3}", "", random.Next(4)));
        foreach (var i in Enumerable.Range(0, 300)) Put(new SearchEntry($"d{i % 7}/tool-{i:D3}", "an app for it", random.Next(4)));
        foreach (var i in Enumerable.Range(0, 100)) Put(new SearchEntry($"other/thing-{i:D3}", "", random.Next(4)));
        await Index.ReplaceAllAsync(oracle.Values, default);

        async Task ReaderAgreesAsync(string after)
        {
            foreach (var (query, pageSize) in new[] { ("app", 25), ("app", 40), ("", 30) })
            {
                var expected = Expected(oracle.Values, query);
                for (var page = 1; page <= (expected.Count + pageSize - 1) / pageSize; page++)
                {
                    var result = await reader.SearchAsync(query, pageSize, page, default);
                    var because = $"query '{query}', page {page} of size {pageSize} after {after}";
                    result.NumResults.Should().Be(expected.Count, because);
                    result.Results.Should().Equal(expected.Skip((page - 1) * pageSize).Take(pageSize), because);
                }
            }
        }

        await ReaderAgreesAsync("the rebuild");
        var added = 0;
        for (var round = 0; round < 16; round++)
        {
            var expected = Expected(oracle.Values, "app");
            for (var change = 0; change < 1 + round % 4; change++)
            {
                switch (random.Next(5))
                {
                    case 0:
                        // A row whose name sorts first or last among its stars and tier: before or after every position.
                        var name = random.Next(2) == 0 ? $"aaa{added++}/app-new" : $"zzz{added++}/my-app";
                        await Index.AddRepositoryAsync(name, default);
                        Put(new SearchEntry(name, ""));
                        break;
                    case 1:
                        // The row a position names (every 32nd of a tier falls on some of these), or any other.
                        var gone = expected[random.Next(2) == 0 ? 32 * random.Next(expected.Count / 32) : random.Next(expected.Count)].Name;
                        await Index.RemoveRepositoryAsync(gone, default);
                        oracle.Remove(gone);
                        break;
                    case 2:
                        // Moves a row between tiers 3 and no match, or gives a name match a description.
                        var moved = oracle.Keys.ElementAt(random.Next(oracle.Count));
                        var description = oracle[moved].Description.Length > 0 ? "" : "now an app";
                        await Index.SetDescriptionAsync(moved, description, default);
                        Put(oracle[moved] with { Description = description });
                        break;
                    case 3:
                        var between = $"t{random.Next(9)}/my-app-{random.Next(300):D3}x";
                        await Index.AddRepositoryAsync(between, default);
                        Put(new SearchEntry(between, ""));
                        break;
                    default:
                        // Often changes nothing (no description to clear): no new version of the rows.
                        var thing = $"other/thing-{random.Next(100):D3}";
                        await Index.SetDescriptionAsync(thing, "", default);
                        Put(oracle.TryGetValue(thing, out var kept) ? kept with { Description = "" } : new SearchEntry(thing, ""));
                        break;
                }
            }

            if (round == 9)
            {
                // A burst into one stretch of tier 2: more rows between two positions than an engine may keep shifting.
                foreach (var i in Enumerable.Range(0, 200))
                {
                    var crowd = $"t4/my-app-150-{i:D3}";
                    await Index.AddRepositoryAsync(crowd, default);
                    Put(new SearchEntry(crowd, ""));
                }
            }

            await ReaderAgreesAsync($"round {round}");
        }
    }

    [Test]
    public async Task Replace_all_from_a_stream_loads_it_the_last_of_a_repeated_name_winning_and_a_failed_stream_changes_nothing()
    {
        await _index.ReplaceAllAsync([new SearchEntry("old/app", "before")], default);

        async IAsyncEnumerable<SearchEntry> Stream(bool fail)
        {
            for (var i = 0; i < 500; i++)
            {
                await Task.Yield();
                yield return new SearchEntry($"ns{i % 5}/app-{i}", i % 3 == 0 ? "an app" : "");
                if (i == 250) yield return new SearchEntry("ns0/app-0", "repeated, this one wins", 4);
            }

            if (fail) throw new IOException("storage went away mid-scan");
        }

        var failed = () => _index.ReplaceAllAsync(Stream(fail: true), default);
        (await failed.Should().ThrowAsync<IOException>()).WithMessage("storage went away mid-scan");
        (await _index.ListAllAsync(default)).Should().Equal(new SearchEntry("old/app", "before"));
        (await _index.SearchAsync("app", 10, 1, default)).Should().BeEquivalentTo(new SearchPage(1, [new SearchEntry("old/app", "before")]));

        await _index.ReplaceAllAsync(Stream(fail: false), default);
        var oracle = Enumerable.Range(0, 500).Select(i => new SearchEntry($"ns{i % 5}/app-{i}", i % 3 == 0 ? "an app" : ""))
            .Where(e => e.Name != "ns0/app-0").Append(new SearchEntry("ns0/app-0", "repeated, this one wins", 4)).ToList();
        (await _index.CountAsync(default)).Should().Be(500);
        foreach (var (query, page) in new[] { ("app", 1), ("app", 7), ("an app", 2), ("ns0/app-0", 1) })
        {
            var result = await _index.SearchAsync(query, 25, page, default);
            var expected = Expected(oracle, query);
            result.NumResults.Should().Be(expected.Count, $"query '{query}'");
            result.Results.Should().Equal(expected.Skip((page - 1) * 25).Take(25), $"query '{query}', page {page}");
        }
    }

    protected async Task CompareAsync(Dictionary<string, SearchEntry> oracle, Random random)
    {
        string[] queries = ["", "a", "b", "ü", "%", "_", "-", "1", "ab", "ba", "b/", "/a", "x_", "lib", "app",
            "redis", "Ünï", "/web", "data/", "a%b", "abou", "now", "-3", "zzz", "lib/app", "srv/db-", "ï", "nï", "y", "q"];
        (await _index.CountAsync(default)).Should().Be(oracle.Count);
        foreach (var query in queries)
        {
            var expected = Expected(oracle.Values, query);
            var pageSize = random.Next(1, 30);
            var pages = Math.Max(1, (expected.Count + pageSize - 1) / pageSize);
            foreach (var page in new[] { 1, 2, pages / 2 + 1, pages, pages + 1 }.Distinct())
            {
                var result = await _index.SearchAsync(query, pageSize, page, default);
                var because = $"query '{query}', page {page} of size {pageSize}";
                result.NumResults.Should().Be(expected.Count, because);
                result.Results.Should().Equal(expected.Skip((page - 1) * pageSize).Take(pageSize), because);
            }
        }
    }

    protected static List<SearchEntry> Expected(IEnumerable<SearchEntry> entries, string query)
    {
        var term = query.ToLowerInvariant();
        int Rank(SearchEntry e)
        {
            var name = e.Name.ToLowerInvariant();
            var repo = name[(name.IndexOf('/') + 1)..];
            return repo == term ? 0
                : name.StartsWith(term, StringComparison.Ordinal) || repo.StartsWith(term, StringComparison.Ordinal) ? 1
                : name.Contains(term, StringComparison.Ordinal) ? 2
                : 3;
        }

        return entries
            .Where(e => e.Name.ToLowerInvariant().Contains(term, StringComparison.Ordinal)
                        || e.Description.ToLowerInvariant().Contains(term, StringComparison.Ordinal))
            .OrderBy(Rank).ThenByDescending(e => e.StarCount).ThenBy(e => e.Name, StringComparer.Ordinal)
            .ToList();
    }

    protected async Task<List<string>> Names(string query) =>
        (await _index.SearchAsync(query, 100, 1, default)).Results.Select(r => r.Name).ToList();

    [Test]
    public async Task Every_repository_lists_with_description_and_stars_in_ordinal_order()
    {
        await _index.ReplaceAllAsync([new SearchEntry("team/ab", "second", 7), new SearchEntry("team/a-z", "", 0)], default);
        await _index.AddRepositoryAsync("library/ubuntu", default);

        (await _index.ListAllAsync(default)).Should().Equal(
            new SearchEntry("library/ubuntu", ""), new SearchEntry("team/a-z", ""), new SearchEntry("team/ab", "second", 7));
    }
}
