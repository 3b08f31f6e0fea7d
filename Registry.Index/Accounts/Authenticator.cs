using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Index.Accounts.Bearer;

namespace Registry.Index.Accounts;

/// <summary>
/// Turns a request's <c>Authorization</c> header into a <see cref="Principal"/> (once per request). Basic
/// credentials are checked against the htpasswd file, then the accounts of the index database; bcrypt
/// makes that slow on purpose, so a successful check is remembered for a few minutes under a hash of the
/// credentials. <c>Basic Og==</c> (empty user and password) is anonymous. <c>Bearer</c> JWTs count when a token
/// server is configured; with an external one (<c>auth.backend: token</c>) our accounts are not consulted.
/// </summary>
public sealed class Authenticator(
    AuthSettings auth, HtpasswdFile htpasswd, IAccountStore accounts, TokenService tokens, BearerTokens bearer, ILoginThrottle throttle,
    TimeProvider? time = null)
{
    public const string PrincipalItem = "registry.principal";
    private const int MaxCachedLogins = 10_000;
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromMinutes(5);
    private static readonly string DummyHash = BCrypt.Net.BCrypt.HashPassword("not a password", 10);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _verified = new(StringComparer.Ordinal);

    public async Task<Principal> AuthenticateAsync(HttpContext context, CancellationToken ct)
    {
        if (context.Items[PrincipalItem] is Principal cached) return cached;
        var principal = await ResolveAsync(context, ct);
        context.Items[PrincipalItem] = principal;
        return principal;
    }

    /// <summary>Checks a user name and password; false for unknown users too (after the same bcrypt work).</summary>
    public async Task<bool> CheckPasswordAsync(string user, string password, CancellationToken ct)
    {
        var hash = htpasswd.HashOf(user) ?? await accounts.HashOfAsync(user, ct);
        var cacheKey = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{user}\n{password}\n{hash}")));
        if (hash is not null && _verified.TryGetValue(cacheKey, out var until) && until > _time.GetUtcNow()) return true;
        bool ok;
        try
        {
            ok = BCrypt.Net.BCrypt.Verify(password, hash ?? DummyHash) && hash is not null;
        }
        catch (BCrypt.Net.SaltParseException)
        {
            ok = false;
        }
        if (ok)
        {
            if (_verified.Count > MaxCachedLogins) _verified.Clear();
            _verified[cacheKey] = _time.GetUtcNow().Add(CacheLifetime);
        }
        return ok;
    }

    private async Task<Principal> ResolveAsync(HttpContext context, CancellationToken ct)
    {
        var header = context.Request.Headers.Authorization.ToString().Trim();
        if (header.Length == 0) return Principal.Anonymous;
        var address = context.Connection.RemoteIpAddress;

        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryDecodeBasic(header[6..].Trim(), out var user, out var password)) return Principal.BadCredentials;
            if (user.Length == 0 && password.Length == 0) return Principal.Anonymous;
            if (auth.Token.External is not null) return Principal.BadCredentials;
            if (await throttle.BlockedForAsync(address, ct) is { } retry) return new Principal(PrincipalKind.Throttled, RetryAfter: retry);
            if (await CheckPasswordAsync(user, password, ct)) return new Principal(PrincipalKind.User, user);
            await throttle.RecordFailureAsync(address, ct);
            return Principal.BadCredentials;
        }

        if (auth.Bearer && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return await bearer.ValidateAsync(header[7..].Trim(), ct) is { } grant
                ? new Principal(PrincipalKind.Bearer, grant.Subject.Length == 0 ? null : grant.Subject, Grants: grant.Access)
                : Principal.BadCredentials;
        }

        if (ParsedToken.Parse(header) is { } token)
        {
            var user = await tokens.VerifyAsync(token, ct);
            return user is null ? Principal.BadCredentials : new Principal(PrincipalKind.Token, user.Length == 0 ? null : user, token);
        }
        return Principal.BadCredentials;
    }

    private static bool TryDecodeBasic(string encoded, out string user, out string password)
    {
        user = password = "";
        try
        {
            var text = new UTF8Encoding(false, true).GetString(Convert.FromBase64String(encoded));
            var colon = text.IndexOf(':');
            if (colon < 0) return false;
            (user, password) = (text[..colon], text[(colon + 1)..]);
            return true;
        }
        catch (Exception e) when (e is FormatException or DecoderFallbackException)
        {
            return false;
        }
    }
}
