using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Registry.Core.Configuration;
using Registry.Index.Accounts;

namespace Registry.V1.Web;

/// <summary>
/// A browser's session with the web interface: a random nonce (what the CSRF token is bound to) and, once logged in,
/// the user, with the LDAP directory's admin mark of the login (<see cref="Principal.DirectoryAdmin"/>).
/// <see cref="CsrfToken"/> goes into every form the page renders.
/// </summary>
public sealed record UiSession(string Nonce, string? User, string CsrfToken, bool DirectoryAdmin = false)
{
    public Principal Principal => User is null ? Principal.Anonymous : new Principal(PrincipalKind.User, User, DirectoryAdmin: DirectoryAdmin);
}

/// <summary>
/// Reads and writes the web interface's session cookie. The cookie is <c>nonce \n user \n expires \n admin</c> with an
/// HMAC-SHA256 keyed by a key derived from the registry's <c>secret_key</c> (the one the index's tokens use, kept in
/// storage when not configured): instances that share storage accept each other's sessions with no other shared
/// state, and the user cannot be forged. Nothing in it is secret, so it is signed, not encrypted. The CSRF token of a
/// form is the HMAC of the nonce under a second derived key: it needs no server-side state, and a login changes the
/// nonce, so a token from before the login stops working. The directory's admin mark is the one of the login, kept for
/// the session's lifetime as a token's rights are for its own.
/// </summary>
public sealed class UiSessionService(TokenService tokens, AuthSettings auth, TimeProvider? time = null)
{
    public const string CookieName = "registry_ui";
    public const string CsrfField = "_csrf";
    private const string SessionItem = "registry.ui.session";
    private static readonly TimeSpan LoggedInLifetime = TimeSpan.FromHours(12);
    private static readonly TimeSpan AnonymousLifetime = TimeSpan.FromDays(1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private (byte[] Session, byte[] Csrf)? _keys;

    /// <summary>
    /// The request's session; a missing, forged or expired cookie starts a new anonymous one (and sets its cookie).
    /// A logged-in user becomes the request's principal, so the index's services decide as for that user.
    /// </summary>
    public async Task<UiSession> GetAsync(HttpContext http)
    {
        if (http.Items[SessionItem] is UiSession known) return known;
        var session = await ReadAsync(http.Request.Cookies[CookieName]) ?? await IssueAsync(http, null);
        if (session.User is not null && !auth.Enabled) session = await IssueAsync(http, null);
        http.Items[SessionItem] = session;
        if (session.User is not null) http.Items[Authenticator.PrincipalItem] = session.Principal;
        return session;
    }

    /// <summary>The session <see cref="GetAsync"/> attached to the request (every web interface request has one).</summary>
    public static UiSession Current(HttpContext http) =>
        http.Items[SessionItem] as UiSession ?? throw new InvalidOperationException("the web interface session was not read for this request");

    /// <summary>Starts a new session for <paramref name="user"/> (a new nonce: a session fixed before the login is worthless).</summary>
    public async Task SignInAsync(HttpContext http, Principal user)
    {
        var session = await IssueAsync(http, user.User, user.DirectoryAdmin);
        http.Items[SessionItem] = session;
        http.Items[Authenticator.PrincipalItem] = session.Principal;
    }

    /// <summary>Ends the login: a new anonymous session.</summary>
    public async Task SignOutAsync(HttpContext http)
    {
        http.Items[SessionItem] = await IssueAsync(http, null);
        http.Items.Remove(Authenticator.PrincipalItem);
    }

    /// <summary>True when <paramref name="token"/> is the CSRF token of the request's session (compared in constant time).</summary>
    public async Task<bool> CheckCsrfAsync(HttpContext http, string? token)
    {
        var session = await GetAsync(http);
        return token is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(session.CsrfToken), Encoding.ASCII.GetBytes(token));
    }

    private async Task<UiSession> IssueAsync(HttpContext http, string? user, bool directoryAdmin = false)
    {
        var nonce = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(18));
        var expires = _time.GetUtcNow().Add(user is null ? AnonymousLifetime : LoggedInLifetime);
        var payload = Encoding.UTF8.GetBytes($"{nonce}\n{user}\n{expires.ToUnixTimeSeconds()}\n{(directoryAdmin ? "admin" : "")}");
        var keys = await KeysAsync();
        var value = Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(HMACSHA256.HashData(keys.Session, payload));
        http.Response.Cookies.Append(CookieName, value, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Lax,
            Secure = http.Request.IsHttps,
            Path = "/ui",
            Expires = user is null ? null : expires,
        });
        return new UiSession(nonce, user, Csrf(keys.Csrf, nonce), directoryAdmin);
    }

    private async Task<UiSession?> ReadAsync(string? cookie)
    {
        if (string.IsNullOrEmpty(cookie) || cookie.Length > 1024) return null;
        var dot = cookie.IndexOf('.');
        if (dot < 0) return null;
        byte[] payload, mac;
        try
        {
            payload = Base64Url.DecodeFromChars(cookie.AsSpan(0, dot));
            mac = Base64Url.DecodeFromChars(cookie.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return null;
        }
        var keys = await KeysAsync();
        if (!CryptographicOperations.FixedTimeEquals(mac, HMACSHA256.HashData(keys.Session, payload))) return null;
        var parts = Encoding.UTF8.GetString(payload).Split('\n');
        // Three parts: a cookie signed before sessions carried the admin mark.
        if (parts.Length is not (3 or 4) || !long.TryParse(parts[2], out var expires)) return null;
        if (expires < _time.GetUtcNow().ToUnixTimeSeconds()) return null;
        var user = parts[1].Length == 0 ? null : parts[1];
        return new UiSession(parts[0], user, Csrf(keys.Csrf, parts[0]), user is not null && parts.Length == 4 && parts[3] == "admin");
    }

    private static string Csrf(byte[] key, string nonce) => Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(nonce)));

    private async Task<(byte[] Session, byte[] Csrf)> KeysAsync()
    {
        if (_keys is { } keys) return keys;
        var secret = await tokens.SecretKeyAsync();
        keys = (HMACSHA256.HashData(secret, "registry web interface session"u8), HMACSHA256.HashData(secret, "registry web interface csrf"u8));
        _keys = keys;
        return keys;
    }
}
