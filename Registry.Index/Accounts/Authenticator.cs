using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Index.Accounts.Bearer;

namespace Registry.Index.Accounts;

/// <summary>
/// Turns a request's <c>Authorization</c> header into a <see cref="Principal"/> (once per request). Basic
/// credentials are checked by the LDAP directory with <c>auth.backend: ldap</c>, else against the htpasswd file,
/// then the accounts of the index database; a bind and bcrypt
/// makes that slow on purpose, so a successful check is remembered for a few minutes under a hash of the
/// credentials. A password with the access token prefix is checked as an access token of that user instead
/// (<see cref="AccessTokenService"/>), giving a principal restricted to the token's scopes.
/// <c>Basic Og==</c> (empty user and password) is anonymous. <c>Bearer</c> JWTs count when a token server is
/// configured; with an external one (<c>auth.backend: token</c>) our accounts are not consulted.
/// </summary>
public sealed class Authenticator(
    AuthSettings auth, HtpasswdFile htpasswd, IAccountStore accounts, TokenService tokens, AccessTokenService accessTokens, BearerTokens bearer,
    ILoginThrottle throttle, LdapDirectory? directory = null, TimeProvider? time = null)
{
    public const string PrincipalItem = "registry.principal";
    private const int MaxCachedLogins = 10_000;
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromMinutes(5);
    private static readonly string DummyHash = BCrypt.Net.BCrypt.HashPassword("not a password", 10);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, DirectoryLogin Login)> _verified = new(StringComparer.Ordinal);

    public async Task<Principal> AuthenticateAsync(HttpContext context, CancellationToken ct)
    {
        if (context.Items[PrincipalItem] is Principal cached) return cached;
        var principal = await ResolveAsync(context, ct);
        context.Items[PrincipalItem] = principal;
        return principal;
    }

    /// <summary>
    /// The user of a user name and password (never an access token), marked an admin when the directory lists them in
    /// its admin group; null for a wrong password and for unknown users (after the same bcrypt work).
    /// </summary>
    public async Task<Principal?> CheckPasswordAsync(string user, string password, CancellationToken ct) =>
        await CheckLoginAsync(user, password, ct) is var login and not DirectoryLogin.Invalid
            ? new Principal(PrincipalKind.User, user, DirectoryAdmin: login == DirectoryLogin.Admin)
            : null;

    /// <summary>
    /// The login checked by the LDAP directory with <c>auth.backend: ldap</c>, else by the bcrypt hash of the htpasswd
    /// file or the index database. A success is remembered for a few minutes under a hash of the credentials.
    /// </summary>
    private async Task<DirectoryLogin> CheckLoginAsync(string user, string password, CancellationToken ct)
    {
        var hash = directory is null ? htpasswd.HashOf(user) ?? await accounts.HashOfAsync(user, ct) : "ldap";
        var cacheKey = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{user}\n{password}\n{hash}")));
        if (hash is not null && _verified.TryGetValue(cacheKey, out var cached) && cached.Until > _time.GetUtcNow()) return cached.Login;
        var login = directory is null ? CheckHash(password, hash) : await directory.CheckAsync(user, password, ct);
        if (login != DirectoryLogin.Invalid)
        {
            if (_verified.Count > MaxCachedLogins) _verified.Clear();
            _verified[cacheKey] = (_time.GetUtcNow().Add(CacheLifetime), login);
        }
        return login;
    }

    private static DirectoryLogin CheckHash(string password, string? hash)
    {
        try
        {
            return BCrypt.Net.BCrypt.Verify(password, hash ?? DummyHash) && hash is not null ? DirectoryLogin.User : DirectoryLogin.Invalid;
        }
        catch (BCrypt.Net.SaltParseException)
        {
            return DirectoryLogin.Invalid;
        }
    }

    /// <summary>
    /// The principal of a user name and password (or access token secret) from any login form (Basic, the token
    /// server's password grant): the user, restricted to the scopes of an access token or marked an admin by the
    /// directory; throttled or bad credentials otherwise. Failures count towards the address's throttle.
    /// </summary>
    public async Task<Principal> LogInAsync(string user, string password, IPAddress? address, CancellationToken ct)
    {
        if (await throttle.BlockedForAsync(address, ct) is { } retry) return new Principal(PrincipalKind.Throttled, RetryAfter: retry);
        if (AccessTokenService.LooksLikeSecret(password))
        {
            if (await accessTokens.VerifyAsync(user, password, ct) is { } scopes) return new Principal(PrincipalKind.User, user, Scopes: scopes);
        }
        else if (await CheckPasswordAsync(user, password, ct) is { } principal)
        {
            return principal;
        }
        await throttle.RecordFailureAsync(address, ct);
        return Principal.BadCredentials;
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
            return await LogInAsync(user, password, address, ct);
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
