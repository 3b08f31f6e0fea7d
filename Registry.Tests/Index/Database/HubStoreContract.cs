using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Database;
using Registry.Index.Hub;
using Registry.Index.Search;

namespace Registry.Tests.Index.Database;

/// <summary>
/// What every <see cref="IHubStore"/> engine must do, stars kept in step with the search rows of the same database.
/// An engine gets a derived fixture that opens a fresh, empty database per test.
/// </summary>
public abstract class HubStoreContract
{
    private IIndexDatabase _database = null!;
    private ISearchIndex _search = null!;
    private IHubStore _hub = null!;

    /// <summary>A fresh, empty index database; called before every test.</summary>
    protected abstract Task<IIndexDatabase> CreateDatabaseAsync();

    /// <summary>Called after every test to release what <see cref="CreateDatabaseAsync"/> made.</summary>
    protected virtual void DestroyDatabase()
    {
    }

    [SetUp]
    public async Task CreateDatabaseForTest()
    {
        _database = await CreateDatabaseAsync();
        _search = await _database.OpenSearchIndexAsync(cacheResults: true, default);
        _hub = _database.Hub;
    }

    [TearDown]
    public void DestroyDatabaseAfterTest()
    {
        (_search as IDisposable)?.Dispose();
        DestroyDatabase();
    }

    [Test]
    public async Task Stars_are_idempotent_and_counted()
    {
        (await _hub.StarAsync("team/app", "alice", default)).Should().BeTrue();
        (await _hub.StarAsync("team/app", "alice", default)).Should().BeFalse();
        (await _hub.StarAsync("team/app", "bob", default)).Should().BeTrue();
        (await _hub.HasStarredAsync("team/app", "alice", default)).Should().BeTrue();
        (await _hub.HasStarredAsync("team/app", "carol", default)).Should().BeFalse();
        (await _hub.CountsAsync("team/app", default)).Should().Be((2L, 0L));
        (await _hub.StarCountsAsync(["team/app", "team/other"], default)).Should().Equal(new Dictionary<string, int> { ["team/app"] = 2 });

        (await _hub.UnstarAsync("team/app", "alice", default)).Should().BeTrue();
        (await _hub.UnstarAsync("team/app", "alice", default)).Should().BeFalse();
        (await _hub.CountsAsync("team/app", default)).Should().Be((1L, 0L));
        (await _hub.AllStarCountsAsync(default)).Should().Equal(new Dictionary<string, int> { ["team/app"] = 1 });
    }

    [Test]
    public async Task Stargazers_and_a_users_stars_are_paged_with_their_totals()
    {
        foreach (var user in new[] { "carol", "alice", "bob" }) await _hub.StarAsync("team/app", user, default);
        await _hub.StarAsync("team/other", "alice", default);

        var page = await _hub.StargazersAsync("team/app", 1, 1, default);
        page.Total.Should().Be(3);
        page.Items.Should().ContainSingle().Which.Repository.Should().Be("team/app");
        var all = await _hub.StargazersAsync("team/app", 0, 10, default);
        all.Items.Select(s => s.User).Should().BeEquivalentTo(["alice", "bob", "carol"]);
        all.Items.Select(s => s.Created).Should().BeInAscendingOrder();
        (await _hub.StarredAsync("alice", PrivateVisibility.None, 0, 10, default)).Items.Select(s => s.Repository)
            .Should().BeEquivalentTo(["team/app", "team/other"]);
        (await _hub.StarredAsync("nobody", PrivateVisibility.None, 0, 10, default)).Should().BeEquivalentTo(new HubPage<RepositoryStar>([], 0));
    }

    [Test]
    public async Task A_users_stars_show_private_repositories_to_their_namespace_and_admins_only()
    {
        await _database.PrivateRepositories.UpsertAsync("alice/secret", "", default);
        await _hub.StarAsync("alice/secret", "alice", default);
        await _hub.StarAsync("bob/tool", "alice", default);

        async Task<string[]> VisibleAsync(PrivateVisibility visibility)
        {
            var page = await _hub.StarredAsync("alice", visibility, 0, 10, default);
            page.Total.Should().Be(page.Items.Count);
            return page.Items.Select(s => s.Repository).Order(StringComparer.Ordinal).ToArray();
        }

        (await VisibleAsync(PrivateVisibility.None)).Should().Equal("bob/tool");
        (await VisibleAsync(new PrivateVisibility(false, "bob"))).Should().Equal("bob/tool");
        (await VisibleAsync(new PrivateVisibility(false, "alice"))).Should().Equal("alice/secret", "bob/tool");
        (await VisibleAsync(PrivateVisibility.Everything)).Should().Equal("alice/secret", "bob/tool");
    }

    [Test]
    public async Task Comments_are_listed_newest_first_and_removed_only_through_their_repository()
    {
        var first = await _hub.AddCommentAsync("team/app", "alice", "first", default);
        var second = await _hub.AddCommentAsync("team/app", "bob", "second\nline", default);
        var other = await _hub.AddCommentAsync("team/other", "bob", "elsewhere", default);

        new[] { first.Id, second.Id, other.Id }.Should().OnlyHaveUniqueItems();
        (await _hub.CommentsAsync("team/app", 0, 10, default)).Should().BeEquivalentTo(new HubPage<RepositoryComment>([second, first], 2),
            o => o.WithStrictOrdering());
        (await _hub.CommentsAsync("team/app", 1, 10, default)).Items.Should().Equal(first);
        (await _hub.GetCommentAsync("team/app", second.Id, default)).Should().Be(second);
        (await _hub.GetCommentAsync("team/other", second.Id, default)).Should().BeNull();
        (await _hub.RemoveCommentAsync("team/other", first.Id, default)).Should().BeFalse();
        (await _hub.RemoveCommentAsync("team/app", first.Id, default)).Should().BeTrue();
        (await _hub.CountsAsync("team/app", default)).Should().Be((0L, 1L));
    }

    [Test]
    public async Task A_star_moves_the_search_row_and_ties_go_to_the_starred()
    {
        await _search.SetDescriptionAsync("team/aaa", "", default);
        await _search.SetDescriptionAsync("team/bbb", "", default);
        await _search.SetDescriptionAsync("busybox", "", default);
        (await NamesAsync("team")).Should().Equal("team/aaa", "team/bbb");

        await _hub.StarAsync("team/bbb", "alice", default);
        (await _search.SearchAsync("team", 10, 1, default)).Results.Should().Equal(new SearchEntry("team/bbb", "", 1), new SearchEntry("team/aaa", "", 0));
        await _hub.StarAsync("library/busybox", "alice", default);
        (await _search.SearchAsync("busybox", 10, 1, default)).Results.Should().Equal(new SearchEntry("busybox", "", 1));

        await _hub.UnstarAsync("team/bbb", "alice", default);
        (await NamesAsync("team")).Should().Equal("team/aaa", "team/bbb");
    }

    [Test]
    public async Task A_row_listed_again_takes_the_stars_its_repository_kept()
    {
        await _hub.StarAsync("team/app", "alice", default);
        await _hub.StarAsync("team/app", "bob", default);

        await _search.SetDescriptionAsync("team/app", "back", default);
        await _search.AddRepositoryAsync("team/other", default);

        (await _search.ListAllAsync(default)).Should().Equal(new SearchEntry("team/app", "back", 2), new SearchEntry("team/other", "", 0));
    }

    [Test]
    public async Task Removing_a_repository_removes_its_stars_and_comments()
    {
        await _search.SetDescriptionAsync("team/app", "", default);
        await _hub.StarAsync("team/app", "alice", default);
        await _hub.AddCommentAsync("team/app", "alice", "hi", default);
        await _hub.StarAsync("team/other", "alice", default);

        await _hub.RemoveRepositoryAsync("team/app", default);

        (await _hub.CountsAsync("team/app", default)).Should().Be((0L, 0L));
        (await _hub.CountsAsync("team/other", default)).Should().Be((1L, 0L));
        (await _search.ListAllAsync(default)).Should().Equal(new SearchEntry("team/app", "", 0));
    }

    [Test]
    public async Task Replace_all_keeps_comment_ids_and_later_comments_get_higher_ones()
    {
        await _hub.StarAsync("old/app", "alice", default);
        await _hub.AddCommentAsync("old/app", "alice", "old", default);
        RepositoryStar[] stars = [new("alice/app", "bob", 1_700_000_000), new("bob/app", "alice", 1_700_000_100)];
        RepositoryComment[] comments = [new(7, "alice/app", "bob", "seven", 1_700_000_000), new(42, "bob/app", "alice", "forty-two", 1_700_000_100)];

        await _hub.ReplaceAllAsync(stars, comments, default);

        var (storedStars, storedComments) = await _hub.ListAllAsync(default);
        storedStars.Should().Equal(stars);
        storedComments.Should().Equal(comments);
        (await _hub.AddCommentAsync("carol/app", "carol", "new", default)).Id.Should().BeGreaterThan(42);
    }

    private async Task<IEnumerable<string>> NamesAsync(string query) =>
        (await _search.SearchAsync(query, 10, 1, default)).Results.Select(r => r.Name);
}
