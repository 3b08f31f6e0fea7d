using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Webhooks;

namespace Registry.Tests.Index.Database;

/// <summary>
/// What every <see cref="IRepositoryWebhooks"/> engine must do. An engine gets a derived fixture that opens a fresh,
/// empty store per test.
/// </summary>
public abstract class RepositoryWebhooksContract
{
    private IRepositoryWebhooks _webhooks = null!;

    /// <summary>A fresh, empty store; called before every test.</summary>
    protected abstract Task<IRepositoryWebhooks> CreateStoreAsync();

    /// <summary>Called after every test to release what <see cref="CreateStoreAsync"/> made.</summary>
    protected virtual void DestroyStore()
    {
    }

    [SetUp]
    public async Task CreateStoreForTest() => _webhooks = await CreateStoreAsync();

    [TearDown]
    public void DestroyStoreAfterTest() => DestroyStore();

    [Test]
    public async Task Webhooks_are_listed_per_repository_oldest_first_with_new_ids()
    {
        var first = await _webhooks.AddAsync("alice/app", "http://a.example.test/", default);
        var second = await _webhooks.AddAsync("alice/app", "http://b.example.test/", default);
        var other = await _webhooks.AddAsync("bob/app", "http://a.example.test/", default);

        new[] { first.Id, second.Id, other.Id }.Should().OnlyHaveUniqueItems();
        (await _webhooks.ListAsync("alice/app", default)).Should().Equal(first, second);
        (await _webhooks.ListAsync("bob/app", default)).Should().Equal(other);
        (await _webhooks.ListAsync("carol/app", default)).Should().BeEmpty();
    }

    [Test]
    public async Task A_webhook_is_removed_only_through_its_repository()
    {
        var hook = await _webhooks.AddAsync("alice/app", "http://a.example.test/", default);

        (await _webhooks.RemoveAsync("bob/app", hook.Id, default)).Should().BeFalse();
        (await _webhooks.RemoveAsync("alice/app", hook.Id, default)).Should().BeTrue();
        (await _webhooks.RemoveAsync("alice/app", hook.Id, default)).Should().BeFalse();
        (await _webhooks.ListAsync("alice/app", default)).Should().BeEmpty();
    }

    [Test]
    public async Task Replace_all_keeps_the_ids_given_and_later_webhooks_get_higher_ones()
    {
        await _webhooks.AddAsync("old/app", "http://old.example.test/", default);
        var copied = new[]
        {
            new StoredWebhook("alice/app", 7, "http://a.example.test/", 1_700_000_000),
            new StoredWebhook("bob/app", 42, "http://b.example.test/", 1_700_000_100),
        };

        await _webhooks.ReplaceAllAsync(copied, default);

        (await _webhooks.ListAllAsync(default)).Should().Equal(copied);
        (await _webhooks.ListAsync("alice/app", default)).Should().Equal(new RepositoryWebhook(7, "http://a.example.test/"));
        (await _webhooks.AddAsync("carol/app", "http://c.example.test/", default)).Id.Should().BeGreaterThan(42);
    }
}
