namespace Registry.Index.Accounts.Bearer;

/// <summary>
/// The refresh tokens of the token server (Docker Registry v2 Token Authentication, 'OAuth2 token authentication':
/// <c>access_type=offline</c>), kept in the index database by the SHA-256 of the token only. Each is bound to its
/// user and to a stamp of the user's password hash when it was issued.
/// </summary>
public interface IRefreshTokens
{
    Task AddAsync(string tokenHash, string username, string passwordStamp, CancellationToken ct);

    /// <summary>The user and password stamp of a stored token; null when unknown or revoked.</summary>
    Task<(string Username, string PasswordStamp)?> FindAsync(string tokenHash, CancellationToken ct);

    /// <summary>Revokes one token; false when it was not stored.</summary>
    Task<bool> RevokeAsync(string tokenHash, CancellationToken ct);

    /// <summary>Revokes every token of the user; returns how many there were.</summary>
    Task<int> RevokeUserAsync(string username, CancellationToken ct);
}
