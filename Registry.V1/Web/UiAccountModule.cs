using System.Text.Json;
using Carter;
using Microsoft.AspNetCore.Http.Extensions;
using Registry.Index.Accounts;

namespace Registry.V1.Web;

/// <summary>
/// The account page (README, 'Web interface'): the logged-in user's access tokens through the
/// <see cref="AccessTokenService"/> behind <c>/v1/users/&lt;user&gt;/tokens</c>, which alone validates them, and for
/// admins every user's tokens (<c>/ui/admin/tokens</c>, as <c>GET /v1/tokens</c>) with their revoke buttons. A web
/// session always stands for a password login (the login page refuses token secrets), as the API requires for
/// managing tokens.
/// </summary>
public sealed class UiAccountModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        var ui = app.MapGroup("/ui").AddEndpointFilter(UiModule.GuardAsync);
        ui.MapGet("/account", AccountAsync);
        ui.MapPost("/account/tokens", CreateAsync);
        ui.MapGet("/account/revoke", ConfirmRevokeAsync);
        ui.MapPost("/account/revoke", RevokeAsync);
        ui.MapGet("/admin/tokens", AllAsync);
    }

    private static async Task<IResult> AllAsync(HttpContext http, UiAccess access, AccessTokenService tokens, CancellationToken ct)
    {
        if (Refusal(http, access) is { } refused) return refused;
        if (!access.IsAdmin(UiSessionService.Current(http)))
            return UiModule.Page(http, "Access tokens", SearchPageHtml.Message("Not allowed", "Every user's access tokens are for admins only."), 403);
        return UiModule.Page(http, "Access tokens", AccountPageHtml.All(await tokens.ListAsync(null, ct)));
    }

    private static async Task<IResult> AccountAsync(HttpContext http, UiAccess access, AccessTokenService tokens, CancellationToken ct)
    {
        if (Refusal(http, access) is { } refused) return refused;
        return await PageAsync(http, tokens, TokenForm.Empty, null, 200, ct);
    }

    private static async Task<IResult> CreateAsync(HttpContext http, UiAccess access, AccessTokenService tokens, CancellationToken ct)
    {
        if (Refusal(http, access) is { } refused) return refused;
        var form = Read(await http.Request.ReadFormAsync(ct));
        using var body = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(Body(form)));
        var user = UiSessionService.Current(http).User!;
        return await tokens.CreateAsync(user, body.RootElement, ct) switch
        {
            CreateAccessTokenResult.Created created => UiModule.Page(http, "Access token created",
                AccountPageHtml.Created(created.Token, created.Secret, user, http.Request.Host.Value ?? "localhost")),
            CreateAccessTokenResult.Invalid invalid => await PageAsync(http, tokens, form, invalid.Problem, 400, ct),
            _ => await PageAsync(http, tokens, form, "An access token with that name already exists.", 409, ct),
        };
    }

    private static async Task<IResult> ConfirmRevokeAsync(HttpContext http, UiAccess access, AccessTokenService tokens, CancellationToken ct)
    {
        if (Refusal(http, access) is { } refused) return refused;
        var session = UiSessionService.Current(http);
        return await FindAsync(http, access, tokens, http.Request.Query["id"].ToString(), ct) is { } token
            ? UiModule.Page(http, "Revoke access token", AccountPageHtml.ConfirmRevoke(session, token, BackFrom(session, token)))
            : NoSuchToken(http);
    }

    private static async Task<IResult> RevokeAsync(HttpContext http, UiAccess access, AccessTokenService tokens, CancellationToken ct)
    {
        if (Refusal(http, access) is { } refused) return refused;
        var form = await http.Request.ReadFormAsync(ct);
        return await FindAsync(http, access, tokens, form["id"].ToString(), ct) is { } token && await tokens.RevokeAsync(token.User, token.Id, ct)
            ? Results.Redirect(BackFrom(UiSessionService.Current(http), token))
            : NoSuchToken(http);
    }

    /// <summary>A token of the session's user, or of anyone for an admin.</summary>
    private static async Task<AccessToken?> FindAsync(HttpContext http, UiAccess access, AccessTokenService tokens, string id, CancellationToken ct)
    {
        var session = UiSessionService.Current(http);
        return (await tokens.ListAsync(access.IsAdmin(session) ? null : session.User, ct)).FirstOrDefault(t => t.Id == id);
    }

    private static string BackFrom(UiSession session, AccessToken token) => token.User == session.User ? "/ui/account" : "/ui/admin/tokens";

    private static async Task<IResult> PageAsync(HttpContext http, AccessTokenService tokens, TokenForm form, string? error, int status, CancellationToken ct)
    {
        var session = UiSessionService.Current(http);
        return UiModule.Page(http, "Account", AccountPageHtml.Render(session, await tokens.ListAsync(session.User, ct), form, error), status);
    }

    /// <summary>
    /// Accounts exist only with authentication on (the API's token routes too); an anonymous visitor is sent to log
    /// in and come back, except from a POST, which would come back as a GET of a route that has none.
    /// </summary>
    private static IResult? Refusal(HttpContext http, UiAccess access)
    {
        if (!access.AuthEnabled)
            return UiModule.Page(http, "Account", SearchPageHtml.Message("Accounts are off", "Authentication is off on this registry: there are no accounts or access tokens."), 404);
        if (UiSessionService.Current(http).User is not null) return null;
        if (HttpMethods.IsPost(http.Request.Method))
            return UiModule.Page(http, "Log in", SearchPageHtml.Message("Log in first", "Managing access tokens needs a login."), 401);
        return Results.Redirect("/ui/login?return=" + UiHtml.Q(http.Request.GetEncodedPathAndQuery()));
    }

    private static IResult NoSuchToken(HttpContext http) =>
        UiModule.Page(http, "Not found", SearchPageHtml.Message("Access token not found", "You have no access token with that id (it may be revoked already)."), 404);

    private static TokenForm Read(IFormCollection form)
    {
        var rows = Enumerable.Range(0, TokenForm.ScopeRows).Select(i => new ScopeRow(
            form["repository" + i].ToString().Trim(), form["pull" + i] == "true", form["push" + i] == "true", form["delete" + i] == "true"));
        return new TokenForm(form["name"].ToString(), form["expires"].ToString().Trim(), rows.ToList());
    }

    /// <summary>The API's JSON body for the form: rows without a repository are the unused ones; an empty date is no expiry.</summary>
    private static Dictionary<string, object?> Body(TokenForm form) => new()
    {
        ["name"] = form.Name,
        ["scopes"] = form.Scopes.Where(r => r.Repository.Length > 0).Select(r => new Dictionary<string, object>
        {
            ["repository"] = r.Repository,
            ["actions"] = new[] { (r.Pull, AccessTokenScope.Pull), (r.Push, AccessTokenScope.Push), (r.Delete, AccessTokenScope.Delete) }
                .Where(a => a.Item1).Select(a => a.Item2).ToArray(),
        }).ToArray(),
        ["expires_at"] = form.Expires.Length == 0 ? null : form.Expires,
    };
}
