using System.Text;
using Carter;
using Registry.Core.Configuration;
using Registry.Core.Maintenance;
using Registry.Core.Names;
using Registry.Index.Accounts;
using Registry.Index.Webhooks;
using Registry.V1.Hosting;
using Registry.V1.Maintenance;
using static Registry.V1.Web.UiHtml;

namespace Registry.V1.Web;

/// <summary>
/// The web interface's admin pages (garbage collection: a dry run, then the run; the user list) and a repository
/// owner's webhooks page. Each calls the service behind the matching API under the same rule: the GC rule of
/// <see cref="AccessPolicy.AuthorizeGcAsync"/>, the write rule for webhooks (docs/operating.md, 'Repository webhooks').
/// </summary>
public sealed class UiAdminModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        var ui = app.MapGroup("/ui").AddEndpointFilter(UiModule.GuardAsync);
        ui.MapGet("/admin/gc", GcPageAsync);
        ui.MapPost("/admin/gc", GcRunAsync);
        ui.MapGet("/admin/users", UsersAsync);
        ui.MapGet("/webhooks/{**name}", WebhooksAsync);
        ui.MapPost("/webhooks/{**name}", ChangeWebhooksAsync);
    }

    private static async Task<IResult> GcPageAsync(HttpContext http, AccessPolicy policy) =>
        await GcRefusalAsync(http, policy) ?? UiModule.Page(http, "Garbage collection", GcForm(UiSessionService.Current(http), null));

    private static async Task<IResult> GcRunAsync(HttpContext http, AccessPolicy policy, GarbageCollector collector, IHostApplicationLifetime lifetime)
    {
        if (await GcRefusalAsync(http, policy) is { } refused) return refused;
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var options = new GcOptions(DryRun: form["mode"] != "run", DeleteUntagged: form["delete_untagged"] == "true");
        // As POST /v1/_gc: not the request's token, so that a closed tab does not stop a sweep half way.
        var result = await collector.RunAsync(options, lifetime.ApplicationStopping);
        if (result.Status != GcRunStatus.AlreadyRunning) MemoryRelease.AfterResponse(http);
        var report = result.Status == GcRunStatus.AlreadyRunning
            ? $"<p class=\"error\" role=\"alert\">Garbage collection already running: {E(result.Holder)}</p>"
            : $"<h2>{(options.DryRun ? "Dry run: what a run would delete" : "Deleted")}</h2><pre id=\"gc-report\">{E(result.Report!.ToText())}</pre>";
        return UiModule.Page(http, "Garbage collection", GcForm(UiSessionService.Current(http), report), result.Status == GcRunStatus.AlreadyRunning ? 409 : 200);
    }

    private static async Task<IResult> UsersAsync(HttpContext http, UiAccess access, AuthSettings auth, HtpasswdFile htpasswd, IAccountStore accounts, CancellationToken ct)
    {
        if (!access.IsAdmin(UiSessionService.Current(http)))
            return UiModule.Page(http, "Users", SearchPageHtml.Message("Not allowed", "The user list is for admins only."), 403);
        var html = new StringBuilder("<h1>Users</h1><p><a href=\"/ui/admin/tokens\">Every user's access tokens</a></p><h2>Admins</h2><ul>");
        foreach (var admin in auth.Admins.Order(StringComparer.Ordinal)) html.Append("<li>").Append(E(admin)).Append("</li>");
        html.Append("</ul><h2>Accounts</h2>");
        // With LDAP the directory alone checks logins, and it offers no listing the registry could show.
        if (auth.Ldap is not null) html.Append("<p class=\"muted\">LDAP: the directory's users are not listed (n/a); the accounts below do not log in while LDAP is on.</p>");
        html.Append("<table class=\"users\"><thead><tr><th scope=\"col\">User</th><th scope=\"col\">Source</th><th scope=\"col\">Email</th><th scope=\"col\">Created</th></tr></thead><tbody>");
        foreach (var user in htpasswd.UserNames())
            html.Append("<tr><td>").Append(E(user)).Append("</td><td>htpasswd</td><td>–</td><td>–</td></tr>");
        foreach (var account in await accounts.ListAllAsync(ct))
            html.Append("<tr><td>").Append(E(account.Username)).Append("</td><td>index database</td><td>").Append(E(account.Email)).Append("</td><td>")
                .Append(DateTimeOffset.FromUnixTimeSeconds(account.Created).UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture))
                .Append("</td></tr>");
        return UiModule.Page(http, "Users", html.Append("</tbody></table>").ToString());
    }

    private static async Task<IResult> WebhooksAsync(string name, HttpContext http, UiAccess access, WebhookService webhooks, CancellationToken ct)
    {
        if (await OwnedAsync(http, access, name, ct) is not { } repository) return NotOwner(http);
        return UiModule.Page(http, "Webhooks", await WebhooksPageAsync(http, webhooks, repository, null, ct));
    }

    private static async Task<IResult> ChangeWebhooksAsync(string name, HttpContext http, UiAccess access, WebhookService webhooks, CancellationToken ct)
    {
        if (await OwnedAsync(http, access, name, ct) is not { } repository) return NotOwner(http);
        var form = await http.Request.ReadFormAsync(ct);
        if (form.ContainsKey("remove"))
        {
            await webhooks.RemoveAsync(repository, form["remove"].ToString(), ct);
            return Results.Redirect("/ui/webhooks/" + PathOf(repository.FullName));
        }
        var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["url"] = form["url"].ToString() });
        return await webhooks.AddAsync(repository, body, ct) switch
        {
            AddWebhookResult.InvalidUrl invalid => UiModule.Page(http, "Webhooks", await WebhooksPageAsync(http, webhooks, repository, invalid.Problem, ct), 400),
            AddWebhookResult.DecodeError => UiModule.Page(http, "Webhooks", await WebhooksPageAsync(http, webhooks, repository, "a URL is needed", ct), 400),
            _ => Results.Redirect("/ui/webhooks/" + PathOf(repository.FullName)),
        };
    }

    private static async Task<string> WebhooksPageAsync(HttpContext http, WebhookService webhooks, RepositoryName repository, string? error, CancellationToken ct)
    {
        var session = UiSessionService.Current(http);
        var path = PathOf(repository.FullName);
        var html = new StringBuilder($"<h1>Webhooks of <a href=\"/ui/r/{path}\">{E(repository.FullName)}</a></h1>");
        if (error is not null) html.Append("<p class=\"error\" role=\"alert\">").Append(E(error)).Append("</p>");
        html.Append("<ul class=\"results\">");
        foreach (var hook in await webhooks.ListAsync(repository, ct))
            html.Append("<li><code>").Append(E(hook.Url)).Append("</code> <form method=\"post\" action=\"/ui/webhooks/").Append(path)
                .Append("\" class=\"inline\">").Append(CsrfField(session)).Append("<input type=\"hidden\" name=\"remove\" value=\"").Append(hook.Id)
                .Append("\"><button type=\"submit\" aria-label=\"Remove webhook ").Append(hook.Id).Append("\">Remove</button></form></li>");
        return html.Append("</ul><form method=\"post\" action=\"/ui/webhooks/").Append(path).Append("\" class=\"stack\">").Append(CsrfField(session))
            .Append("<label for=\"webhook-url\">Webhook URL (http or https)</label><input id=\"webhook-url\" name=\"url\" type=\"url\" required>")
            .Append("<button type=\"submit\">Add webhook</button></form>").ToString();
    }

    private static string GcForm(UiSession session, string? report) =>
        "<h1>Garbage collection</h1><p>Deletes images, manifests, layers and blobs no tag reaches (docs/operating.md). " +
        "A dry run reports what a run would delete and deletes nothing.</p>" +
        "<form method=\"post\" action=\"/ui/admin/gc\" class=\"stack\">" + CsrfField(session) +
        "<label><input type=\"checkbox\" name=\"delete_untagged\" value=\"true\"> Also delete untagged v2 manifests</label>" +
        "<button type=\"submit\" name=\"mode\" value=\"dry\">Dry run</button>" +
        "<button type=\"submit\" name=\"mode\" value=\"run\" class=\"danger\">Run garbage collection</button></form>" + (report ?? "");

    private static async Task<IResult?> GcRefusalAsync(HttpContext http, AccessPolicy policy)
    {
        var decision = await policy.AuthorizeGcAsync(http, http.RequestAborted);
        return decision.Allowed ? null : UiModule.Page(http, "Garbage collection", SearchPageHtml.Message("Not allowed", decision.Message ?? "Access denied"), 403);
    }

    private static async Task<RepositoryName?> OwnedAsync(HttpContext http, UiAccess access, string name, CancellationToken ct) =>
        RepositoryName.TryParse(name, out var repository, out _)
        && await access.CanAsync(UiSessionService.Current(http), repository, AccessKind.Write, ct) ? repository : null;

    private static IResult NotOwner(HttpContext http) =>
        UiModule.Page(http, "Webhooks", SearchPageHtml.Message("Not allowed", "A repository's webhooks are its owner's."), 403);
}
