using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Index.Accounts;
using Registry.Index.Accounts.Bearer;

namespace Registry.V2.Token;

/// <summary>The answer of the token endpoint (Docker Registry v2 Token Authentication Specification, 'Token Response Fields'; 'OAuth2 token authentication').</summary>
public sealed record TokenResponse(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("expires_in")] int ExpiresIn,
    [property: JsonPropertyName("issued_at")] string IssuedAt,
    [property: JsonPropertyName("scope"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Scope,
    [property: JsonPropertyName("refresh_token"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RefreshToken);

/// <summary>An OAuth2 error (RFC 6749, 'Error Response'), the body of every refusal of the token endpoint.</summary>
public sealed record TokenError(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description")] string Description);

/// <summary>An outcome of the token endpoint: a token, or an HTTP status with an OAuth2 error.</summary>
public sealed record TokenOutcome(int Status, TokenResponse? Response = null, TokenError? Error = null, TimeSpan? RetryAfter = null)
{
    public static TokenOutcome Fail(int status, string error, string description) => new(status, Error: new TokenError(error, description));
}

/// <summary>
/// The built-in token server (<c>auth.token_server</c>): authenticates the client with our account backend (Basic,
/// the password grant or a refresh token), grants what <see cref="TokenGrants"/> allows of the requested scopes,
/// and signs the token. Bad credentials and unknown or revoked refresh tokens are 401 <c>invalid_grant</c>,
/// malformed requests 400 (<c>invalid_request</c>, <c>invalid_scope</c>, <c>unsupported_grant_type</c>).
/// </summary>
public sealed class TokenServer(
    AuthSettings auth, Authenticator authenticator, TokenGrants grants, BearerTokens tokens, RefreshTokenService refresh)
{
    /// <summary><c>GET /v2/token?service=…&amp;scope=…&amp;account=…&amp;offline_token=true</c> with Basic credentials or none.</summary>
    public async Task<TokenOutcome> GetAsync(HttpContext context, CancellationToken ct)
    {
        var query = context.Request.Query;
        if (CheckService(query["service"]) is { } wrongService) return wrongService;
        if (ResourceAccess.ParseScopes(query["scope"]) is not { } scopes) return InvalidScope;

        var principal = await authenticator.AuthenticateAsync(context, ct);
        switch (principal.Kind)
        {
            case PrincipalKind.Throttled:
                return new TokenOutcome(429, Error: new TokenError("slow_down", "too many failed logins from this address, retry later"), RetryAfter: principal.RetryAfter);
            case PrincipalKind.User or PrincipalKind.Anonymous:
                break;
            default:
                return BadCredentials;
        }
        if (query["account"].ToString() is { Length: > 0 } account && principal.User is { } user && account != user)
            return TokenOutcome.Fail(400, "invalid_request", "account does not match the credentials");

        // A refresh token stands for its user's full rights: never for a login with a (scoped) access token.
        var offline = string.Equals(query["offline_token"], "true", StringComparison.OrdinalIgnoreCase)
            && principal.Kind == PrincipalKind.User && !principal.IsRestricted;
        var refreshToken = offline ? await refresh.IssueAsync(principal.User!, ct) : null;
        return await IssueAsync(principal, scopes, refreshToken, includeScope: false, ct);
    }

    /// <summary><c>POST /v2/token</c> with a form: <c>grant_type=password|refresh_token</c>, <c>client_id</c>, <c>access_type</c>, <c>scope</c>, <c>service</c>.</summary>
    public async Task<TokenOutcome> PostAsync(HttpContext context, CancellationToken ct)
    {
        if (!context.Request.HasFormContentType) return TokenOutcome.Fail(400, "invalid_request", "expected an application/x-www-form-urlencoded body");
        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(ct);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return TokenOutcome.Fail(400, "invalid_request", "the form cannot be read");
        }
        if (CheckService(form["service"]) is { } wrongService) return wrongService;
        if (ResourceAccess.ParseScopes(form["scope"]) is not { } scopes) return InvalidScope;
        if (string.IsNullOrEmpty(form["client_id"])) return TokenOutcome.Fail(400, "invalid_request", "client_id is required");
        var offline = form["access_type"] == "offline";

        switch (form["grant_type"].ToString())
        {
            case "password":
            {
                var (user, password) = (form["username"].ToString(), form["password"].ToString());
                if (user.Length == 0) return TokenOutcome.Fail(400, "invalid_request", "username is required");
                if (auth.Token.External is not null) return BadCredentials;
                // The same login as Basic: an access token's scopes and the directory's admin mark come with it.
                var principal = await authenticator.LogInAsync(user, password, context.Connection.RemoteIpAddress, ct);
                if (principal.Kind == PrincipalKind.Throttled)
                    return new TokenOutcome(429, Error: new TokenError("slow_down", "too many failed logins from this address, retry later"), RetryAfter: principal.RetryAfter);
                if (principal.Kind != PrincipalKind.User) return BadCredentials;
                var refreshToken = offline && !principal.IsRestricted ? await refresh.IssueAsync(user, ct) : null;
                return await IssueAsync(principal, scopes, refreshToken, includeScope: true, ct);
            }
            case "refresh_token":
            {
                var token = form["refresh_token"].ToString();
                if (token.Length == 0) return TokenOutcome.Fail(400, "invalid_request", "refresh_token is required");
                if (await refresh.RedeemAsync(token, ct) is not { } user)
                    return TokenOutcome.Fail(401, "invalid_grant", "the refresh token is unknown or revoked");
                return await IssueAsync(new Principal(PrincipalKind.User, user), scopes, offline ? token : null, includeScope: true, ct);
            }
            case "":
                return TokenOutcome.Fail(400, "invalid_request", "grant_type is required");
            default:
                return TokenOutcome.Fail(400, "unsupported_grant_type", "grant_type must be password or refresh_token");
        }
    }

    /// <summary>
    /// <c>POST /v2/token/revoke</c> (after RFC 7009, 'Token Revocation'): the form's <c>token</c> (a refresh token)
    /// is revoked; without one, a Basic-authenticated user revokes all of theirs. 200 either way, as RFC 7009 asks.
    /// </summary>
    public async Task<TokenOutcome> RevokeAsync(HttpContext context, CancellationToken ct)
    {
        var token = context.Request.HasFormContentType ? (await context.Request.ReadFormAsync(ct))["token"].ToString() : "";
        if (token.Length > 0)
        {
            await refresh.RevokeAsync(token, ct);
            return new TokenOutcome(200);
        }
        var principal = await authenticator.AuthenticateAsync(context, ct);
        if (principal.Kind != PrincipalKind.User) return TokenOutcome.Fail(400, "invalid_request", "token is required (or Basic credentials to revoke all of a user's)");
        await refresh.RevokeUserAsync(principal.User!, ct);
        return new TokenOutcome(200);
    }

    private static readonly TokenOutcome BadCredentials = TokenOutcome.Fail(401, "invalid_grant", "invalid username or password");
    private static readonly TokenOutcome InvalidScope = TokenOutcome.Fail(400, "invalid_scope", "a scope is not type:name:actions");

    private TokenOutcome? CheckService(string? service) =>
        string.IsNullOrEmpty(service) || service == auth.Token.Service
            ? null
            : TokenOutcome.Fail(400, "invalid_request", $"this server issues tokens for service \"{auth.Token.Service}\" only");

    private async Task<TokenOutcome> IssueAsync(Principal principal, IReadOnlyList<ResourceAccess> scopes, string? refreshToken, bool includeScope, CancellationToken ct)
    {
        var granted = await grants.GrantAsync(principal, scopes, ct);
        var issued = await tokens.IssueAsync(principal.User ?? "", granted, ct);
        var scope = includeScope ? string.Join(' ', granted) : null;
        return new TokenOutcome(200, new TokenResponse(
            issued.Token, issued.Token, issued.ExpiresIn, issued.IssuedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            scope, refreshToken));
    }
}
