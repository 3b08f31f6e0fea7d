using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Search;

namespace Registry.Tests.Index.Database;

/// <summary>
/// What every <see cref="IPrivateRepositories"/> engine must do. An engine gets a derived fixture that opens a
/// fresh, empty store per test.
/// </summary>
public abstract class PrivateRepositoriesContract
{
    private IPrivateRepositories _privates = null!;

    /// <summary>A fresh, empty store; called before every test.</summary>
    protected abstract Task<IPrivateRepositories> CreateStoreAsync();

    /// <summary>Called after every test to release what <see cref="CreateStoreAsync"/> made.</summary>
    protected virtual void DestroyStore()
    {
    }

    [SetUp]
    public async Task CreateStoreForTest() => _privates = await CreateStoreAsync();

    [TearDown]
    public void DestroyStoreAfterTest() => DestroyStore();

    [Test]
    public async Task An_owner_finds_only_the_repositories_of_their_namespace_and_an_admin_finds_all()
    {
        await _privates.UpsertAsync("alice/app", "", default);
        await _privates.UpsertAsync("bob/app", "", default);

        (await _privates.SearchAsync("app", "alice", everyone: false, default)).Should().Equal(new SearchEntry("alice/app", ""));
        (await _privates.SearchAsync("app", "admin", everyone: true, default)).Should().Equal(
            new SearchEntry("alice/app", ""), new SearchEntry("bob/app", ""));
        (await _privates.SearchAsync("app", null, everyone: false, default)).Should().BeEmpty();
        (await _privates.SearchAsync("app", "carol", everyone: false, default)).Should().BeEmpty();
    }

    [Test]
    public async Task Matching_ignores_case_in_names_and_descriptions()
    {
        await _privates.UpsertAsync("alice/WebApp", "", default);
        await _privates.UpsertAsync("alice/tool", "Builds ÜBER fast", default);

        (await _privates.SearchAsync("WEBAPP", "alice", everyone: false, default)).Should().Equal(new SearchEntry("alice/WebApp", ""));
        (await _privates.SearchAsync("über", "alice", everyone: false, default)).Should().Equal(new SearchEntry("alice/tool", "Builds ÜBER fast"));
    }

    [Test]
    public async Task Results_follow_the_relevance_tiers_then_the_name()
    {
        await _privates.UpsertAsync("alice/zz", "about redis", default);
        await _privates.UpsertAsync("alice/my-redis", "", default);
        await _privates.UpsertAsync("alice/redis-tools", "", default);
        await _privates.UpsertAsync("alice/redis", "", default);
        await _privates.UpsertAsync("alice/aredis", "", default);

        (await _privates.SearchAsync("redis", "alice", everyone: false, default)).Select(e => e.Name).Should().Equal(
            "alice/redis", "alice/redis-tools", "alice/aredis", "alice/my-redis", "alice/zz");
    }

    [Test]
    public async Task Upsert_replaces_the_description_and_Remove_forgets()
    {
        await _privates.UpsertAsync("alice/app", "first", default);
        await _privates.UpsertAsync("alice/app", "second", default);

        (await _privates.SearchAsync("first", "alice", everyone: false, default)).Should().BeEmpty();
        (await _privates.SearchAsync("app", "alice", everyone: false, default)).Should().Equal(new SearchEntry("alice/app", "second"));

        await _privates.RemoveAsync("alice/app", default);
        await _privates.RemoveAsync("alice/never", default);
        (await _privates.SearchAsync("", "alice", everyone: false, default)).Should().BeEmpty();
    }

    [Test]
    public async Task ReplaceAll_keeps_only_the_given_repositories()
    {
        await _privates.UpsertAsync("alice/old", "", default);

        await _privates.ReplaceAllAsync([new SearchEntry("alice/new", "fresh"), new SearchEntry("bob/other", "")], default);

        (await _privates.SearchAsync("", "admin", everyone: true, default)).Should().Equal(
            new SearchEntry("alice/new", "fresh"), new SearchEntry("bob/other", ""));
    }

    [Test]
    public async Task Every_private_repository_lists_with_its_description_in_ordinal_order()
    {
        await _privates.UpsertAsync("team/ab", "second", default);
        await _privates.UpsertAsync("team/a-z", "", default);

        (await _privates.ListAllAsync(default)).Should().Equal(new SearchEntry("team/a-z", ""), new SearchEntry("team/ab", "second"));
    }
}
