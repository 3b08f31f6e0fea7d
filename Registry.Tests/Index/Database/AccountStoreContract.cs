using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;

namespace Registry.Tests.Index.Database;

/// <summary>
/// What every <see cref="IAccountStore"/> engine must do. An engine gets a derived fixture that opens a fresh,
/// empty store per test.
/// </summary>
public abstract class AccountStoreContract
{
    private IAccountStore _store = null!;

    /// <summary>A fresh, empty store; called before every test.</summary>
    protected abstract Task<IAccountStore> CreateStoreAsync();

    /// <summary>Called after every test to release what <see cref="CreateStoreAsync"/> made.</summary>
    protected virtual void DestroyStore()
    {
    }

    [SetUp]
    public async Task CreateStoreForTest() => _store = await CreateStoreAsync();

    [TearDown]
    public void DestroyStoreAfterTest() => DestroyStore();

    [Test]
    public async Task A_created_account_keeps_a_bcrypt_hash_of_its_password()
    {
        (await _store.CreateAsync("alice", "s3cret!", "alice@example.com", default)).Should().Be(CreateAccountResult.Created);

        var hash = await _store.HashOfAsync("alice", default);

        hash.Should().StartWith("$2").And.NotContain("s3cret!");
        BCrypt.Net.BCrypt.Verify("s3cret!", hash).Should().BeTrue();
    }

    [Test]
    public async Task An_unknown_account_has_no_hash_and_cannot_be_updated()
    {
        (await _store.HashOfAsync("nobody", default)).Should().BeNull();
        (await _store.UpdateAsync("nobody", "password", "nobody@example.com", default)).Should().BeFalse();
        (await _store.HashOfAsync("nobody", default)).Should().BeNull();
    }

    [Test]
    public async Task A_taken_name_is_refused_and_the_first_password_stays()
    {
        await _store.CreateAsync("alice", "first", "alice@example.com", default);

        (await _store.CreateAsync("alice", "second", "other@example.com", default)).Should().Be(CreateAccountResult.AlreadyExists);

        BCrypt.Net.BCrypt.Verify("first", await _store.HashOfAsync("alice", default)).Should().BeTrue();
    }

    [Test]
    public async Task A_taken_email_is_refused_but_empty_emails_may_repeat()
    {
        await _store.CreateAsync("alice", "password", "shared@example.com", default);

        (await _store.CreateAsync("bob", "password", "shared@example.com", default)).Should().Be(CreateAccountResult.AlreadyExists);
        (await _store.HashOfAsync("bob", default)).Should().BeNull();
        (await _store.CreateAsync("carol", "password", "", default)).Should().Be(CreateAccountResult.Created);
        (await _store.CreateAsync("dave", "password", "", default)).Should().Be(CreateAccountResult.Created);
    }

    [Test]
    public async Task Update_changes_the_password_and_an_email_only_update_keeps_it()
    {
        await _store.CreateAsync("alice", "first", "alice@example.com", default);

        (await _store.UpdateAsync("alice", "second", null, default)).Should().BeTrue();
        BCrypt.Net.BCrypt.Verify("second", await _store.HashOfAsync("alice", default)).Should().BeTrue();

        (await _store.UpdateAsync("alice", null, "new@example.com", default)).Should().BeTrue();
        BCrypt.Net.BCrypt.Verify("second", await _store.HashOfAsync("alice", default)).Should().BeTrue();
        // The old email is free again, the new one is taken.
        (await _store.CreateAsync("bob", "password", "alice@example.com", default)).Should().Be(CreateAccountResult.Created);
        (await _store.CreateAsync("carol", "password", "new@example.com", default)).Should().Be(CreateAccountResult.AlreadyExists);
    }

    [Test]
    public async Task Accounts_replaced_as_stored_keep_their_hashes_and_list_in_ordinal_order()
    {
        await _store.CreateAsync("old", "password", "old@example.com", default);
        var hash = BCrypt.Net.BCrypt.HashPassword("moved!", 10);
        StoredAccount[] moved = [new("team-b", "b@example.com", hash, 1_700_000_000), new("teamb", "", hash, 1_700_000_001), new("alice", "", hash, 5)];

        await _store.ReplaceAllAsync(moved, default);

        (await _store.ListAllAsync(default)).Should().Equal(moved[2], moved[0], moved[1]);
        (await _store.HashOfAsync("old", default)).Should().BeNull();
        BCrypt.Net.BCrypt.Verify("moved!", await _store.HashOfAsync("teamb", default)).Should().BeTrue();
    }
}
