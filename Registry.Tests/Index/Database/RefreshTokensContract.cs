using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts.Bearer;

namespace Registry.Tests.Index.Database;

/// <summary>
/// What every <see cref="IRefreshTokens"/> engine must do. An engine gets a derived fixture that opens a fresh,
/// empty store per test.
/// </summary>
public abstract class RefreshTokensContract
{
    private IRefreshTokens _tokens = null!;

    /// <summary>A fresh, empty store; called before every test.</summary>
    protected abstract Task<IRefreshTokens> CreateStoreAsync();

    /// <summary>Called after every test to release what <see cref="CreateStoreAsync"/> made.</summary>
    protected virtual void DestroyStore()
    {
    }

    [SetUp]
    public async Task CreateStoreForTest() => _tokens = await CreateStoreAsync();

    [TearDown]
    public void DestroyStoreAfterTest() => DestroyStore();

    [Test]
    public async Task A_stored_token_is_found_with_its_user_and_stamp()
    {
        await _tokens.AddAsync("hash-1", "alice", "stamp-a", default);
        await _tokens.AddAsync("hash-2", "bob", "stamp-b", default);

        (await _tokens.FindAsync("hash-1", default)).Should().Be(("alice", "stamp-a"));
        (await _tokens.FindAsync("hash-2", default)).Should().Be(("bob", "stamp-b"));
        (await _tokens.FindAsync("hash-3", default)).Should().BeNull();
    }

    [Test]
    public async Task A_revoked_token_is_gone_and_revoking_twice_says_so()
    {
        await _tokens.AddAsync("hash-1", "alice", "stamp", default);

        (await _tokens.RevokeAsync("hash-1", default)).Should().BeTrue();
        (await _tokens.RevokeAsync("hash-1", default)).Should().BeFalse();
        (await _tokens.FindAsync("hash-1", default)).Should().BeNull();
    }

    [Test]
    public async Task Revoking_a_user_removes_only_their_tokens()
    {
        await _tokens.AddAsync("a1", "alice", "s", default);
        await _tokens.AddAsync("a2", "alice", "s", default);
        await _tokens.AddAsync("b1", "bob", "s", default);

        (await _tokens.RevokeUserAsync("alice", default)).Should().Be(2);
        (await _tokens.RevokeUserAsync("alice", default)).Should().Be(0);
        (await _tokens.FindAsync("a1", default)).Should().BeNull();
        (await _tokens.FindAsync("b1", default)).Should().Be(("bob", "s"));
    }
}
