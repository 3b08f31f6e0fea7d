using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Registry.Index.Accounts.Bearer;

/// <summary>
/// Issues and redeems refresh tokens (docker stores one as its identity token and later POSTs
/// <c>grant_type=refresh_token</c>). A token stops working when it is revoked, when its user is gone, or when the
/// user's password changed since it was issued (the stored stamp of the password hash no longer matches): that
/// covers <c>PUT /v1/users/&lt;u&gt;</c> and edits of the htpasswd file alike.
/// </summary>
public sealed class RefreshTokenService(IRefreshTokens store, HtpasswdFile htpasswd, IAccountStore accounts)
{
    public async Task<string?> IssueAsync(string user, CancellationToken ct)
    {
        if (await PasswordStampAsync(user, ct) is not { } stamp) return null;
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        await store.AddAsync(Hash(token), user, stamp, ct);
        return token;
    }

    /// <summary>The user a refresh token stands for; null when it is unknown, revoked or outdated (then it is deleted).</summary>
    public async Task<string?> RedeemAsync(string token, CancellationToken ct)
    {
        var hash = Hash(token);
        if (await store.FindAsync(hash, ct) is not { } stored) return null;
        var current = await PasswordStampAsync(stored.Username, ct);
        if (current is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(current), Encoding.ASCII.GetBytes(stored.PasswordStamp)))
            return stored.Username;
        await store.RevokeAsync(hash, ct);
        return null;
    }

    public Task<bool> RevokeAsync(string token, CancellationToken ct) => store.RevokeAsync(Hash(token), ct);

    public Task<int> RevokeUserAsync(string user, CancellationToken ct) => store.RevokeUserAsync(user, ct);

    private async Task<string?> PasswordStampAsync(string user, CancellationToken ct) =>
        (htpasswd.HashOf(user) ?? await accounts.HashOfAsync(user, ct)) is { } hash
            ? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(hash)))
            : null;

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
