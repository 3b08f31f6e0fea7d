using System.Globalization;
using System.Text.Json;
using Carter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Index.Accounts;

namespace Registry.Index.Modules;

/// <summary>
/// Access tokens for robots (README, 'Access tokens'): <c>GET</c>/<c>POST /v1/users/{user}/tokens</c>,
/// <c>DELETE /v1/users/{user}/tokens/{id}</c>, and every user's tokens at <c>GET /v1/tokens</c> for admins.
/// Users manage their own tokens after logging in with their password (not with a token); admins list and revoke
/// anyone's. Mounted only when authentication is on.
/// </summary>
public sealed class AccessTokensModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        if (!app.ServiceProvider.GetRequiredService<AuthSettings>().Enabled) return;

        app.MapGet("/v1/users/{username}/tokens", ListAsync);
        app.MapPost("/v1/users/{username}/tokens", CreateAsync);
        app.MapDelete("/v1/users/{username}/tokens/{id}", RevokeAsync);
        app.MapGet("/v1/tokens", ListAllAsync);
    }

    private static async Task<IResult> ListAsync(string username, HttpContext http, Caller caller, AccessTokenService tokens, CancellationToken ct) =>
        await caller.CheckAsync(http, username, adminMay: true, ct) ?? V1Results.Json(JsonSerializer.SerializeToNode(await tokens.ListAsync(username, ct)));

    private static async Task<IResult> CreateAsync(
        string username, HttpContext http, Caller caller, RegistrySettings settings, AccessTokenService tokens, CancellationToken ct)
    {
        if (await caller.CheckAsync(http, username, adminMay: false, ct) is { } refused) return refused;
        var body = await JsonBody.ReadAsync(http.Request, settings.MaxJsonBodyBytes, ct);
        if (body is null) return V1Results.Error(413, "Request body too large");
        using var doc = JsonBody.TryParse(body);
        if (doc is null) return V1Results.Error(400, "Error Decoding JSON");
        return await tokens.CreateAsync(username, doc.RootElement, ct) switch
        {
            CreateAccessTokenResult.Created created => V1Results.Json(Shown(created), 201),
            CreateAccessTokenResult.Invalid invalid => V1Results.Error(400, invalid.Problem),
            _ => V1Results.Error(409, "An access token with that name already exists"),
        };
    }

    private static async Task<IResult> RevokeAsync(string username, string id, HttpContext http, Caller caller, AccessTokenService tokens, CancellationToken ct) =>
        await caller.CheckAsync(http, username, adminMay: true, ct)
        ?? (await tokens.RevokeAsync(username, id, ct) ? V1Results.Empty(204) : V1Results.Error(404, "Access token not found"));

    private static async Task<IResult> ListAllAsync(HttpContext http, Caller caller, AccessTokenService tokens, CancellationToken ct) =>
        await caller.CheckAsync(http, null, adminMay: true, ct) ?? V1Results.Json(JsonSerializer.SerializeToNode(await tokens.ListAsync(null, ct)));

    private static System.Text.Json.Nodes.JsonNode Shown(CreateAccessTokenResult.Created created)
    {
        var node = JsonSerializer.SerializeToNode(created.Token)!;
        node["token"] = created.Secret;
        return node;
    }

    /// <summary>Who may manage the tokens of a user (null: every user's): the refusal, or null when the caller may.</summary>
    public sealed class Caller(AuthSettings auth, Authenticator authenticator, AccessPolicy policy)
    {
        public async Task<IResult?> CheckAsync(HttpContext http, string? username, bool adminMay, CancellationToken ct)
        {
            var principal = await authenticator.AuthenticateAsync(http, ct);
            switch (principal.Kind)
            {
                case PrincipalKind.Throttled:
                    http.Response.Headers.RetryAfter = ((int)Math.Ceiling(principal.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                    return V1Results.Error(429, "Too many failed logins from this address, retry later");
                case PrincipalKind.User:
                    break;
                default:
                    http.Response.Headers.WWWAuthenticate = $"Basic realm=\"{auth.Realm}\"";
                    return V1Results.Error(401, principal.Kind == PrincipalKind.BadCredentials ? "Invalid credentials" : "Authentication required");
            }
            if (principal.IsRestricted) return V1Results.Error(403, "Access tokens cannot manage access tokens; log in with the password");
            if (username is not null && principal.User == username) return null;
            if (adminMay && policy.IsAdmin(principal)) return null;
            return V1Results.Error(403, username is null ? "Listing every access token is for admins only" : "You may only manage your own access tokens");
        }
    }
}
