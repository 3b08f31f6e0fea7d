using System.Globalization;
using System.Text.Json.Nodes;
using Carter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Index.Accounts;
using Registry.Index.Hub;
using K = Registry.Core.Names.RepositoryRouteKind;

namespace Registry.Index.Modules;

/// <summary>
/// The Hub API (README, 'Stars, comments and descriptions'): star and unstar, stargazers, a user's stars, comments and
/// the repository summary. Not gated: <see cref="RepositoryHub"/> decides, since starring and commenting need
/// read access, not the write access the gate asks of a PUT, POST or DELETE.
/// </summary>
public sealed class HubModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.MapRepository(["PUT"], gated: false, StarAsync, K.Star);
        app.MapRepository(["DELETE"], gated: false, UnstarAsync, K.Star);
        app.MapRepository(["GET"], gated: false, StargazersAsync, K.Stargazers);
        app.MapRepository(["GET"], gated: false, CommentsAsync, K.Comments);
        app.MapRepository(["POST"], gated: false, AddCommentAsync, K.Comments);
        app.MapRepository(["DELETE"], gated: false, RemoveCommentAsync, K.Comment);
        app.MapRepository(["GET"], gated: false, SummaryAsync, K.Root);
        app.MapGet("/v1/users/{user}/starred", StarredAsync);
    }

    private static Task<IResult> StarAsync(HttpContext http, RepositoryHub hub, CancellationToken ct) =>
        RunAsync(http, hub, caller => hub.SetStarAsync(caller, http.Route().Name!, star: true, ct), _ => V1Results.Empty(204), ct);

    private static Task<IResult> UnstarAsync(HttpContext http, RepositoryHub hub, CancellationToken ct) =>
        RunAsync(http, hub, caller => hub.SetStarAsync(caller, http.Route().Name!, star: false, ct), _ => V1Results.Empty(204), ct);

    private static Task<IResult> StargazersAsync(HttpContext http, RepositoryHub hub, CancellationToken ct) =>
        PagedAsync(http, hub, (caller, page) => hub.StargazersAsync(caller, http.Route().Name!, page, ct),
            star => new JsonObject { ["user"] = star.User, ["starred"] = Time(star.Created) }, ct);

    private static Task<IResult> StarredAsync(string user, HttpContext http, RepositoryHub hub, CancellationToken ct) =>
        PagedAsync(http, hub, (caller, page) => hub.StarredAsync(caller, user, page, ct),
            star => new JsonObject { ["name"] = star.Repository, ["starred"] = Time(star.Created) }, ct);

    private static Task<IResult> CommentsAsync(HttpContext http, RepositoryHub hub, CancellationToken ct) =>
        PagedAsync(http, hub, (caller, page) => hub.CommentsAsync(caller, http.Route().Name!, page, ct), CommentJson, ct);

    private static async Task<IResult> AddCommentAsync(HttpContext http, RepositoryHub hub, RegistrySettings settings, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync(http.Request, settings.MaxJsonBodyBytes, ct);
        if (body is null) return V1Results.Error(413, "Request body too large");
        return await RunAsync(http, hub, caller => hub.AddCommentAsync(caller, http.Route().Name!, body, ct), c => V1Results.Json(CommentJson(c), 201), ct);
    }

    private static Task<IResult> RemoveCommentAsync(HttpContext http, RepositoryHub hub, CancellationToken ct) =>
        RunAsync(http, hub, caller => hub.RemoveCommentAsync(caller, http.Route().Name!, http.Route().Tag!, ct), _ => V1Results.Empty(204), ct);

    private static Task<IResult> SummaryAsync(HttpContext http, RepositoryHub hub, CancellationToken ct) =>
        RunAsync(http, hub, caller => hub.SummaryAsync(caller, http.Route().Name!, ct), s => V1Results.Json(new JsonObject
        {
            ["name"] = s.Name,
            ["description"] = s.Description,
            ["star_count"] = s.StarCount,
            ["comment_count"] = s.CommentCount,
            ["is_private"] = s.IsPrivate,
            ["starred"] = s.Starred,
        }), ct);

    private static JsonObject CommentJson(RepositoryComment comment) => new()
    {
        ["id"] = comment.Id,
        ["user"] = comment.User,
        ["comment"] = comment.Text,
        ["created"] = Time(comment.Created),
    };

    private static string Time(long unixSeconds) =>
        DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// A paged list: <c>page</c> and <c>n</c> checked first (400), then the call; the body says where the next page is
    /// (<c>next</c>, the path and query of the same list's next page, null on the last).
    /// </summary>
    private static async Task<IResult> PagedAsync<T>(
        HttpContext http, RepositoryHub hub, Func<Principal, HubPageRequest, Task<HubResult<HubPage<T>>>> call, Func<T, JsonObject> item, CancellationToken ct)
    {
        var query = http.Request.Query;
        if (RepositoryHub.ParsePage(query["page"].ToString(), query["n"].ToString(), out var problem) is not { } page)
            return V1Results.Error(400, problem!);
        return await RunAsync(http, hub, caller => call(caller, page), found =>
        {
            var pages = Math.Max(1, (found.Total + page.Size - 1) / page.Size);
            var results = new JsonArray();
            foreach (var x in found.Items) results.Add(item(x));
            return V1Results.Json(new JsonObject
            {
                ["num_pages"] = pages,
                ["num_results"] = found.Total,
                ["page"] = page.Page,
                ["page_size"] = page.Size,
                ["next"] = page.Page < pages ? $"{http.Request.PathBase}{http.Request.Path}?page={page.Page + 1}&n={page.Size}" : null,
                ["results"] = results,
            });
        }, ct);
    }

    /// <summary>Resolves the caller, runs the call and maps its outcome: a refusal to its status and V1 error body.</summary>
    private static async Task<IResult> RunAsync<T>(HttpContext http, RepositoryHub hub, Func<Principal, Task<HubResult<T>>> call, Func<T, IResult> ok, CancellationToken ct)
    {
        var (caller, refusal) = await hub.CallerAsync(http, ct);
        if (refusal is not null) return Refuse(http, refusal);
        var result = await call(caller!);
        return result.Status switch
        {
            HubStatus.Ok => ok(result.Value!),
            HubStatus.Unauthenticated => Refuse(http, new AccessDecision(401, result.Error, hub.Challenge)),
            HubStatus.NotFound => V1Results.Error(404, result.Error!),
            HubStatus.Forbidden => V1Results.Error(403, result.Error!),
            _ => V1Results.Error(400, result.Error!),
        };
    }

    private static IResult Refuse(HttpContext http, AccessDecision decision)
    {
        if (decision.Challenge is not null) http.Response.Headers.WWWAuthenticate = decision.Challenge;
        if (decision.RetryAfter is { } retry) http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return V1Results.Error(decision.Status, decision.Message!);
    }
}
