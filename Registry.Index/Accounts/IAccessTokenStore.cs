namespace Registry.Index.Accounts;

/// <summary>
/// One access token as the index database keeps it: its scopes as the JSON array the API shows, the SHA-256 of
/// its secret (hex), times in Unix seconds (<see cref="Expires"/> null for never, <see cref="LastUsed"/> null
/// until first used).
/// </summary>
public sealed record StoredAccessToken(
    string Id, string Username, string Name, string Scopes, string SecretHash, long Created, long? Expires, long? LastUsed);

/// <summary>
/// Users' access tokens for robots (README, 'Access tokens'), in the index database; each engine has one
/// implementation that passes the contract fixture of the tests.
/// </summary>
public interface IAccessTokenStore
{
    /// <summary>Adds the token; false when its user already has a token of that name.</summary>
    Task<bool> CreateAsync(StoredAccessToken token, CancellationToken ct);

    /// <summary>The tokens of <paramref name="username"/>, or of everyone when null, ordered by user, then creation, then id.</summary>
    Task<IReadOnlyList<StoredAccessToken>> ListAsync(string? username, CancellationToken ct);

    /// <summary>The token whose secret hashes to <paramref name="secretHash"/>; null when there is none.</summary>
    Task<StoredAccessToken?> FindBySecretHashAsync(string secretHash, CancellationToken ct);

    /// <summary>Deletes the user's token; false when the user has no token with that id.</summary>
    Task<bool> RevokeAsync(string username, string id, CancellationToken ct);

    /// <summary>Records that the token was used at <paramref name="unixSeconds"/>.</summary>
    Task TouchAsync(string id, long unixSeconds, CancellationToken ct);

    /// <summary>Replaces every token by <paramref name="tokens"/> in one transaction, as given (for copying a database).</summary>
    Task ReplaceAllAsync(IReadOnlyList<StoredAccessToken> tokens, CancellationToken ct);
}
