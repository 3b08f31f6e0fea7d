using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;

namespace Registry.Tests.Index.Database;

/// <summary>
/// What every <see cref="IAccessTokenStore"/> engine must do. An engine gets a derived fixture that opens a fresh,
/// empty store per test.
/// </summary>
public abstract class AccessTokenStoreContract
{
    private IAccessTokenStore _tokens = null!;

    /// <summary>A fresh, empty store; called before every test.</summary>
    protected abstract Task<IAccessTokenStore> CreateStoreAsync();

    /// <summary>Called after every test to release what <see cref="CreateStoreAsync"/> made.</summary>
    protected virtual void DestroyStore()
    {
    }

    [SetUp]
    public async Task CreateStoreForTest() => _tokens = await CreateStoreAsync();

    [TearDown]
    public void DestroyStoreAfterTest() => DestroyStore();

    private static StoredAccessToken Token(string id, string user, string name, long created = 1_700_000_000, long? expires = null) =>
        new(id, user, name, "[{\"repository\":\"" + user + "/*\",\"actions\":[\"pull\"]}]", "hash-" + id, created, expires, null);

    [Test]
    public async Task Tokens_are_listed_per_user_or_all_in_order_and_found_by_their_hash()
    {
        var late = Token("b1", "bob", "ci", created: 1_700_000_500, expires: 1_800_000_000);
        var early = Token("b2", "bob", "deploy", created: 1_700_000_100);
        var alice = Token("a1", "alice", "ci");
        foreach (var token in new[] { late, early, alice }) (await _tokens.CreateAsync(token, default)).Should().BeTrue();

        (await _tokens.ListAsync("bob", default)).Should().Equal(early, late);
        (await _tokens.ListAsync("carol", default)).Should().BeEmpty();
        (await _tokens.ListAsync(null, default)).Should().Equal(alice, early, late);
        (await _tokens.FindBySecretHashAsync("hash-b1", default)).Should().Be(late);
        (await _tokens.FindBySecretHashAsync("hash-zz", default)).Should().BeNull();
    }

    [Test]
    public async Task A_name_is_unique_per_user_only()
    {
        (await _tokens.CreateAsync(Token("a1", "alice", "ci"), default)).Should().BeTrue();
        (await _tokens.CreateAsync(Token("a2", "alice", "ci"), default)).Should().BeFalse();
        (await _tokens.CreateAsync(Token("b1", "bob", "ci"), default)).Should().BeTrue();
        (await _tokens.ListAsync(null, default)).Select(t => t.Id).Should().Equal("a1", "b1");
    }

    [Test]
    public async Task A_token_is_revoked_only_through_its_user()
    {
        await _tokens.CreateAsync(Token("a1", "alice", "ci"), default);

        (await _tokens.RevokeAsync("bob", "a1", default)).Should().BeFalse();
        (await _tokens.RevokeAsync("alice", "a1", default)).Should().BeTrue();
        (await _tokens.RevokeAsync("alice", "a1", default)).Should().BeFalse();
        (await _tokens.FindBySecretHashAsync("hash-a1", default)).Should().BeNull();
    }

    [Test]
    public async Task Touch_records_the_latest_use_only()
    {
        await _tokens.CreateAsync(Token("a1", "alice", "ci"), default);

        await _tokens.TouchAsync("a1", 1_700_000_900, default);
        await _tokens.TouchAsync("a1", 1_700_000_800, default);

        (await _tokens.FindBySecretHashAsync("hash-a1", default))!.LastUsed.Should().Be(1_700_000_900);
    }

    [Test]
    public async Task Replace_all_keeps_every_field_as_given()
    {
        await _tokens.CreateAsync(Token("old", "old", "ci"), default);
        var copied = new[]
        {
            Token("a1", "alice", "ci", expires: 1_900_000_000) with { LastUsed = 1_700_000_050 },
            Token("b1", "bob", "ci"),
        };

        await _tokens.ReplaceAllAsync(copied, default);

        (await _tokens.ListAsync(null, default)).Should().Equal(copied);
    }
}
