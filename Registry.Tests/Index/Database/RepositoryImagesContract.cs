using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;

namespace Registry.Tests.Index.Database;

/// <summary>
/// What every <see cref="IRepositoryImages"/> engine must do. An engine gets a derived fixture that opens a
/// fresh, empty store per test.
/// </summary>
public abstract class RepositoryImagesContract
{
    private IRepositoryImages _images = null!;

    /// <summary>A fresh, empty store; called before every test.</summary>
    protected abstract Task<IRepositoryImages> CreateStoreAsync();

    /// <summary>Called after every test to release what <see cref="CreateStoreAsync"/> made.</summary>
    protected virtual void DestroyStore()
    {
    }

    [SetUp]
    public async Task CreateStoreForTest() => _images = await CreateStoreAsync();

    [TearDown]
    public void DestroyStoreAfterTest() => DestroyStore();

    [Test]
    public async Task An_empty_store_knows_no_image()
    {
        (await _images.CountAsync(default)).Should().Be(0);
        (await _images.RepositoriesOfAsync("aaaa", default)).Should().BeEmpty();
        (await _images.ContainsAsync("library/app", "aaaa", default)).Should().BeFalse();
    }

    [Test]
    public async Task Set_replaces_a_repositorys_images_and_counts_duplicates_once()
    {
        await _images.SetAsync("library/app", ["aaaa", "bbbb", "aaaa"], default);
        await _images.SetAsync("library/app", ["bbbb", "cccc"], default);

        (await _images.CountAsync(default)).Should().Be(2);
        (await _images.ContainsAsync("library/app", "aaaa", default)).Should().BeFalse();
        (await _images.ContainsAsync("library/app", "bbbb", default)).Should().BeTrue();
        (await _images.ContainsAsync("library/app", "cccc", default)).Should().BeTrue();
    }

    [Test]
    public async Task Clear_forgets_every_repository()
    {
        await _images.SetAsync("library/app", ["aaaa", "bbbb"], default);
        await _images.SetAsync("alice/web", ["aaaa"], default);

        await _images.ClearAsync(default);

        (await _images.CountAsync(default)).Should().Be(0);
        (await _images.RepositoriesOfAsync("aaaa", default)).Should().BeEmpty();
    }

    [Test]
    public async Task Add_keeps_the_images_already_recorded_and_is_idempotent()
    {
        await _images.SetAsync("library/app", ["aaaa"], default);
        await _images.AddAsync("library/app", ["bbbb", "aaaa"], default);
        await _images.AddAsync("library/app", ["bbbb"], default);

        (await _images.CountAsync(default)).Should().Be(2);
        (await _images.ContainsAsync("library/app", "aaaa", default)).Should().BeTrue();
        (await _images.ContainsAsync("library/app", "bbbb", default)).Should().BeTrue();
    }

    [Test]
    public async Task An_image_is_listed_by_every_repository_holding_it_and_only_by_them()
    {
        await _images.SetAsync("library/app", ["aaaa", "bbbb"], default);
        await _images.SetAsync("team/app", ["aaaa"], default);

        (await _images.RepositoriesOfAsync("aaaa", default)).Should().BeEquivalentTo("library/app", "team/app");
        (await _images.RepositoriesOfAsync("bbbb", default)).Should().Equal("library/app");
        (await _images.ContainsAsync("team/app", "bbbb", default)).Should().BeFalse();
    }

    [Test]
    public async Task RemoveRepository_forgets_only_that_repository()
    {
        await _images.SetAsync("library/app", ["aaaa", "bbbb"], default);
        await _images.SetAsync("team/app", ["aaaa"], default);

        await _images.RemoveRepositoryAsync("library/app", default);
        await _images.RemoveRepositoryAsync("never/seen", default);

        (await _images.CountAsync(default)).Should().Be(1);
        (await _images.RepositoriesOfAsync("aaaa", default)).Should().Equal("team/app");
        (await _images.RepositoriesOfAsync("bbbb", default)).Should().BeEmpty();
    }

    [Test]
    public async Task Every_pair_lists_by_repository_then_image()
    {
        await _images.SetAsync("team/ab", ["bbbb", "aaaa"], default);
        await _images.AddAsync("team/a-z", ["bbbb"], default);

        (await _images.ListAllAsync(default)).Should().Equal(("team/a-z", "bbbb"), ("team/ab", "aaaa"), ("team/ab", "bbbb"));
    }
}
