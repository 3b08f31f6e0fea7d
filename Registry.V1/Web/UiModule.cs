using Carter;
using Microsoft.Extensions.Primitives;
using Registry.Core.Names;
using Registry.Index.Accounts;
using Registry.Index.Hub;
using Registry.Index.Search;

namespace Registry.V1.Web;

/// <summary>
/// The web interface at <c>/ui/</c> (README, 'Web interface'): server-rendered pages over the registry's own services.
/// Every response carries a strict Content-Security-Policy (no inline script or style, nothing from another origin,
/// no framing); every POST must carry the session's CSRF token (403 otherwise).
/// </summary>
public sealed class UiModule : ICarterModule
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    public void AddRoutes(IEndpointRouteBuilder app)
    {
        var ui = app.MapGroup("/ui").AddEndpointFilter(GuardAsync);
        ui.MapGet("/assets/{file}", Asset);
        ui.MapGet("/", SearchAsync);
        ui.MapGet("/search", SearchAsync);
        ui.MapGet("/r/{**name}", RepositoryAsync);
        ui.MapGet("/login", LoginPageAsync);
        ui.MapPost("/login", LoginAsync);
        ui.MapPost("/logout", LogoutAsync);
        ui.MapGet("/delete/{**name}", ConfirmDeleteAsync);
        ui.MapPost("/delete/{**name}", DeleteAsync);
        ui.MapPost("/star/{**name}", StarAsync);
        ui.MapPost("/comments/{**name}", CommentAsync);
        ui.MapPost("/description/{**name}", DescriptionAsync);
    }

    /// <summary>Security headers on every response; the session attached; POSTs without the session's CSRF token refused.</summary>
    public static async ValueTask<object?> GuardAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";
        var sessions = http.RequestServices.GetRequiredService<UiSessionService>();
        await sessions.GetAsync(http);
        if (HttpMethods.IsPost(http.Request.Method))
        {
            var token = http.Request.HasFormContentType ? (await http.Request.ReadFormAsync(http.RequestAborted))[UiSessionService.CsrfField] : StringValues.Empty;
            if (!await sessions.CheckCsrfAsync(http, token.Count == 1 ? token[0] : null))
                return Page(http, "Form expired", SearchPageHtml.Message("Form expired",
                    "The form was not sent from this session (missing or stale CSRF token). Reload the page and try again."), 403);
        }
        return await next(context);
    }

    private static IResult Asset(string file, UiAssets assets, HttpContext http)
    {
        if (assets.Find(file) is not { } asset) return Results.NotFound();
        http.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        http.Response.Headers.ETag = asset.ETag;
        if (http.Request.Headers.IfNoneMatch == asset.ETag) return Results.StatusCode(304);
        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private static async Task<IResult> SearchAsync(HttpContext http, SearchService search, UiSearch tags, CancellationToken ct)
    {
        var query = http.Request.Query["q"].ToString();
        long? page = long.TryParse(http.Request.Query["page"].ToString(), out var p) ? p : null;
        var from = long.TryParse(http.Request.Query["from"].ToString(), out var f) && f > 0 ? f : 0;
        var result = await search.SearchAsync(http, query, UiSearch.PageSize, page, ct);
        return result.Outcome switch
        {
            SearchOutcome.Disabled => Page(http, "Search", SearchPageHtml.Message("Search is off", "Search is disabled on this registry (search_backend is not set)."), 404, query),
            SearchOutcome.QueryTooLong => Page(http, "Search", SearchPageHtml.Message("Search term too long", $"A search term has at most {SearchService.MaxQueryLength} characters."), 400, query),
            SearchOutcome.QueryHasNul => Page(http, "Search", SearchPageHtml.Message("Bad search term", "A search term must not contain NUL characters."), 400, query),
            _ => Page(http, query.Length == 0 ? "Repositories" : "Search: " + query,
                SearchPageHtml.Results(query, result, await tags.FindAsync(http, query, from, ct)), 200, query),
        };
    }

    private static async Task<IResult> RepositoryAsync(string name, HttpContext http, UiAccess access, RepositoryBrowser browser, RepositoryHub hub, CancellationToken ct)
    {
        if (!name.Contains('/') && RepositoryName.TryParse(name, out var library, out _))
            return Results.Redirect("/ui/r/" + UiHtml.PathOf(library.FullName) + http.Request.QueryString);
        var session = await Session(http);
        if (!RepositoryName.TryParse(name, out var repository, out _) || !await access.CanAsync(session, repository, AccessKind.Read, ct))
            return NotFound(http, session, name);
        var view = await browser.ReadAsync(repository, http.Request.Query["tag"].ToString(), ct);
        if (!view.Found) return NotFound(http, session, name);
        var can = new RepositoryPermissions(
            await access.CanAsync(session, repository, AccessKind.Delete, ct), await access.CanAsync(session, repository, AccessKind.Write, ct), access.IsAdmin(session));
        var hubSection = await UiHub.RenderAsync(hub, session, repository, can, view.Description, ct);
        return Page(http, repository.FullName, RepositoryPageHtml.Render(view, session, can, http.Request.Host.Value ?? "localhost", hubSection));
    }

    private static async Task<IResult> LoginPageAsync(HttpContext http, UiAccess access)
    {
        if (!access.AuthEnabled) return Page(http, "Log in", SearchPageHtml.Message("Log in", "Authentication is off on this registry: there is nothing to log in to."));
        return Page(http, "Log in", SearchPageHtml.Login(await Session(http), "", null, ReturnTo(http.Request.Query["return"])));
    }

    private static async Task<IResult> LoginAsync(HttpContext http, UiAccess access, Authenticator authenticator, UiSessionService sessions, CancellationToken ct)
    {
        if (!access.AuthEnabled) return Page(http, "Log in", SearchPageHtml.Message("Log in", "Authentication is off on this registry."), 404);
        var form = await http.Request.ReadFormAsync(ct);
        var user = form["user"].ToString();
        var returnTo = ReturnTo(form["return"]);
        // The API's own login (throttle, failures counted, LDAP admin group), so the two can never disagree.
        var principal = await authenticator.LogInAsync(user, form["password"].ToString(), http.Connection.RemoteIpAddress, ct);
        string? refusal = principal switch
        {
            { Kind: PrincipalKind.Throttled } => "Too many failed logins from this address, retry later.",
            // An access token is a robot's password for the API only: a session made with one could manage tokens,
            // which the API refuses to a token (README, 'Access tokens').
            { Kind: PrincipalKind.User, IsRestricted: true } => "Access tokens cannot log in here: use your password.",
            { Kind: PrincipalKind.User } => null,
            _ => "Wrong user name or password.",
        };
        if (refusal is null)
        {
            await sessions.SignInAsync(http, principal);
            return Results.Redirect(returnTo);
        }
        if (principal.Kind == PrincipalKind.Throttled)
            http.Response.Headers.RetryAfter = ((int)Math.Ceiling(principal.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Page(http, "Log in", SearchPageHtml.Login(await Session(http), user, refusal, returnTo), principal.Kind == PrincipalKind.Throttled ? 429 : 401);
    }

    private static async Task<IResult> LogoutAsync(HttpContext http, UiSessionService sessions)
    {
        await sessions.SignOutAsync(http);
        return Results.Redirect("/ui/");
    }

    private static async Task<IResult> ConfirmDeleteAsync(string name, HttpContext http, UiAccess access, CancellationToken ct)
    {
        var session = await Session(http);
        if (!RepositoryName.TryParse(name, out var repository, out _) || !await access.CanAsync(session, repository, AccessKind.Delete, ct))
            return Forbidden(http);
        var tag = http.Request.Query["tag"].ToString();
        return Page(http, "Delete", SearchPageHtml.ConfirmDelete(session, repository.FullName, tag.Length == 0 ? null : tag, http.Request.Query["kind"] == "v2"));
    }

    private static async Task<IResult> DeleteAsync(string name, HttpContext http, UiAccess access, CancellationToken ct)
    {
        var session = await Session(http);
        if (!RepositoryName.TryParse(name, out var repository, out _) || !await access.CanAsync(session, repository, AccessKind.Delete, ct))
            return Forbidden(http);
        var form = await http.Request.ReadFormAsync(ct);
        var tag = form["tag"].ToString();
        var result = tag.Length == 0
            ? await access.DeleteRepositoryAsync(repository, ct)
            : await access.DeleteTagAsync(repository, tag, form["kind"] == "v2", ct);
        if (result == UiDeleteResult.NotFound) return Page(http, "Not found", SearchPageHtml.Message("Not found", "There was nothing to delete."), 404);
        return Results.Redirect(tag.Length == 0 ? "/ui/" : "/ui/r/" + UiHtml.PathOf(repository.FullName));
    }

    private static async Task<IResult> StarAsync(string name, HttpContext http, RepositoryHub hub, CancellationToken ct)
    {
        if (!RepositoryName.TryParse(name, out var repository, out _)) return NotFound(http, await Session(http), name);
        var form = await http.Request.ReadFormAsync(ct);
        var result = await hub.SetStarAsync((await Session(http)).Principal, repository, form["star"] != "false", ct);
        return Back(http, repository, result.Status, result.Error);
    }

    private static async Task<IResult> CommentAsync(string name, HttpContext http, RepositoryHub hub, CancellationToken ct)
    {
        if (!RepositoryName.TryParse(name, out var repository, out _)) return NotFound(http, await Session(http), name);
        var form = await http.Request.ReadFormAsync(ct);
        var caller = (await Session(http)).Principal;
        if (form.ContainsKey("delete"))
        {
            var removed = await hub.RemoveCommentAsync(caller, repository, form["delete"].ToString(), ct);
            return Back(http, repository, removed.Status, removed.Error);
        }
        var added = await hub.AddCommentAsync(caller, repository, form["comment"].ToString(), ct);
        return Back(http, repository, added.Status, added.Error);
    }

    private static async Task<IResult> DescriptionAsync(string name, HttpContext http, UiAccess access, Registry.V1.Repositories.RepositoryService repositories, CancellationToken ct)
    {
        var session = await Session(http);
        if (!RepositoryName.TryParse(name, out var repository, out _) || !await access.CanAsync(session, repository, AccessKind.Write, ct))
            return Page(http, "Not allowed", SearchPageHtml.Message("Not allowed", "Only the repository's owner may edit its description."), 403);
        var form = await http.Request.ReadFormAsync(ct);
        var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["description"] = form["description"].ToString() });
        return await repositories.PutPropertiesAsync(repository, body, ct) == Registry.V1.Repositories.PutPropertiesResult.Ok
            ? Results.Redirect("/ui/r/" + UiHtml.PathOf(repository.FullName))
            : Page(http, "Description", SearchPageHtml.Message("Description refused",
                $"A description has at most {Registry.Index.Search.RepositoryCatalog.MaxDescriptionLength} characters."), 400);
    }

    /// <summary>Back to the repository page after a Hub action, or the refusal as a page with its status.</summary>
    private static IResult Back(HttpContext http, RepositoryName repository, HubStatus status, string? error) => status switch
    {
        HubStatus.Ok => Results.Redirect("/ui/r/" + UiHtml.PathOf(repository.FullName)),
        HubStatus.Unauthenticated => Page(http, "Log in", SearchPageHtml.Message("Log in first", error ?? "Authentication required."), 401),
        HubStatus.Forbidden => Page(http, "Not allowed", SearchPageHtml.Message("Not allowed", error ?? "Access denied."), 403),
        HubStatus.BadRequest => Page(http, "Refused", SearchPageHtml.Message("Refused", error ?? "Bad request."), 400),
        _ => Page(http, "Not found", SearchPageHtml.Message("Not found", error ?? "Repository not found."), 404),
    };

    private static Task<UiSession> Session(HttpContext http) => http.RequestServices.GetRequiredService<UiSessionService>().GetAsync(http);

    /// <summary>Where to go after logging in: a path of the web interface only (never another site).</summary>
    private static string ReturnTo(StringValues value)
    {
        var text = value.ToString();
        return text.StartsWith("/ui/", StringComparison.Ordinal) && !text.StartsWith("/ui//", StringComparison.Ordinal) && !text.Contains('\\') ? text : "/ui/";
    }

    private static IResult NotFound(HttpContext http, UiSession session, string name) =>
        Page(http, "Not found", SearchPageHtml.Message("Repository not found",
            $"There is no repository {name} that you may see." + (session.User is null ? " Logging in may show private repositories." : "")), 404);

    private static IResult Forbidden(HttpContext http) =>
        Page(http, "Not allowed", SearchPageHtml.Message("Not allowed", "You may not delete here, or deleting is disabled on this registry."), 403);

    /// <summary>A whole page: never cached (it shows what the session may see), encoded as UTF-8 HTML.</summary>
    public static IResult Page(HttpContext http, string title, string main, int status = 200, string query = "")
    {
        var services = http.RequestServices;
        var session = UiSessionService.Current(http);
        http.Response.Headers.CacheControl = "no-store";
        var access = services.GetRequiredService<UiAccess>();
        var html = UiHtml.Page(services.GetRequiredService<UiAssets>(), session, access.AuthEnabled, access.IsAdmin(session), title, query, main);
        return Results.Content(html, "text/html; charset=utf-8", System.Text.Encoding.UTF8, status);
    }
}
