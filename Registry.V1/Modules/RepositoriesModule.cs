using Carter;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Index.Webhooks;
using Registry.V1.Mirroring;
using Registry.V1.Notifications;
using Registry.V1.Repositories;
using Registry.V2.Notifications;
using K = Registry.Core.Names.RepositoryRouteKind;

namespace Registry.V1.Modules;

/// <summary>The registry's repository routes: tags, tag json, repository json, properties, delete (Docker Registry HTTP API V1, 'Tags').</summary>
public sealed class RepositoriesModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        // An index-only instance (role: index) stores no images: these routes answer the host's JSON 404.
        if (!app.ServiceProvider.GetRequiredService<RegistrySettings>().Roles.ServesRegistry) return;
        string[] read = ["GET", "HEAD"];
        app.MapRepository(read, gated: true, ListTagsAsync, K.Tags);
        app.MapRepository(["DELETE"], gated: true, DeleteRepositoryAsync, K.Tags, K.RootSlash, K.Root);
        app.MapRepository(read, gated: true, GetTagAsync, K.Tag);
        app.MapRepository(["PUT"], gated: true, PutTagAsync, K.Tag);
        app.MapRepository(["DELETE"], gated: true, DeleteTagAsync, K.Tag);
        app.MapRepository(read, gated: true, GetTagJsonAsync, K.TagJson);
        app.MapRepository(read, gated: true, GetRepositoryJsonAsync, K.Json);
        app.MapRepository(read, gated: true, GetPropertiesAsync, K.Properties);
        app.MapRepository(["PUT"], gated: true, PutPropertiesAsync, K.Properties);
    }

    private static async Task<IResult> ListTagsAsync(HttpContext http, RepositoryService svc, MirrorTagService mirror, CancellationToken ct)
    {
        if (await mirror.RefreshAsync(http.Route().Name!, ct) is { } failure) return V1Results.UpstreamError(failure);
        var tags = await svc.ListTagsAsync(http.Route().Name!, ct);
        if (tags is null) return V1Results.Error(404, "Repository not found");
        var body = new System.Text.Json.Nodes.JsonObject();
        foreach (var (tag, id) in tags) body[tag] = id;
        return V1Results.Json(body);
    }

    private static async Task<IResult> GetTagAsync(HttpContext http, RepositoryService svc, MirrorTagService mirror, CancellationToken ct)
    {
        var route = http.Route();
        if (await mirror.RefreshAsync(route.Name!, ct) is { } failure) return V1Results.UpstreamError(failure);
        var id = await svc.GetTagAsync(route.Name!, route.Tag!, ct);
        return id is null ? V1Results.Error(404, "Tag not found") : V1Results.JsonString(id);
    }

    private static async Task<IResult> PutTagAsync(
        HttpContext http, RepositoryService svc, RegistrySettings settings, V1Events events, WebhookPublisher webhooks, CancellationToken ct)
    {
        var route = http.Route();
        if (!TagName.IsValid(route.Tag)) return V1Results.Error(400, TagName.InvalidMessage);
        var body = await JsonBody.ReadAsync(http.Request, settings.MaxJsonBodyBytes, ct);
        if (body is null) return V1Results.Error(413, "Request body too large");
        return await svc.PutTagAsync(route.Name!, route.Tag!, body, http.Request.Headers.UserAgent.ToString(), ct) switch
        {
            PutTagResult.InvalidTag => V1Results.Error(400, TagName.InvalidMessage),
            PutTagResult.InvalidData => V1Results.Error(400, "Invalid data"),
            PutTagResult.ImageNotFound => V1Results.Error(404, "Image not found"),
            _ => await TagPushedAsync(http, events, webhooks, body, ct),
        };
    }

    private static async Task<IResult> TagPushedAsync(HttpContext http, V1Events events, WebhookPublisher webhooks, byte[] body, CancellationToken ct)
    {
        var route = http.Route();
        await webhooks.PushedAsync(http, route.Name!.FullName, route.Tag!, V2Events.ActorOf(http), ct);
        return Done(() => events.TagWritten(http, route.Name!, route.Tag!, body));
    }

    private static async Task<IResult> DeleteTagAsync(HttpContext http, RepositoryService svc, V1Events events, CancellationToken ct)
    {
        var route = http.Route();
        return await svc.DeleteTagAsync(route.Name!, route.Tag!, ct)
            ? Done(() => events.TagDeleted(http, route.Name!, route.Tag!))
            : V1Results.Error(404, $"Tag not found: {route.Tag}");
    }

    private static async Task<IResult> DeleteRepositoryAsync(HttpContext http, RepositoryService svc, V1Events events, CancellationToken ct) =>
        await svc.DeleteRepositoryAsync(http.Route().Name!, ct)
            ? Done(() => events.RepositoryDeleted(http, http.Route().Name!))
            : V1Results.Error(404, "Repository not found");

    /// <summary>The V1 <c>true</c> of a write that succeeded, after its event is queued.</summary>
    private static IResult Done(Action publish)
    {
        publish();
        return V1Results.True();
    }

    private static async Task<IResult> GetTagJsonAsync(HttpContext http, RepositoryService svc, CancellationToken ct)
    {
        var route = http.Route();
        return V1Results.Raw(await svc.GetTagJsonAsync(route.Name!, route.Tag!, ct), immutable: false);
    }

    private static async Task<IResult> GetRepositoryJsonAsync(HttpContext http, RepositoryService svc, MirrorRepositoryJsonService mirror, CancellationToken ct)
    {
        var (copy, failure) = await mirror.GetAsync(http.Route().Name!, ct);
        if (failure is not null) return V1Results.UpstreamError(failure);
        var json = copy ?? await svc.GetRepositoryJsonAsync(http.Route().Name!, ct);
        return V1Results.Raw(json ?? System.Text.Encoding.UTF8.GetBytes(RepositoryService.DefaultTagJson), immutable: false);
    }

    private static async Task<IResult> GetPropertiesAsync(HttpContext http, RepositoryService svc, CancellationToken ct)
    {
        var access = await svc.IsPrivateAsync(http.Route().Name!, ct) ? "private" : "public";
        return V1Results.Json(new System.Text.Json.Nodes.JsonObject { ["access"] = access });
    }

    private static async Task<IResult> PutPropertiesAsync(HttpContext http, RepositoryService svc, RegistrySettings settings, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync(http.Request, settings.MaxJsonBodyBytes, ct);
        if (body is null) return V1Results.Error(413, "Request body too large");
        return await svc.PutPropertiesAsync(http.Route().Name!, body, ct) switch
        {
            PutPropertiesResult.InvalidData => V1Results.Error(400, "Invalid data"),
            _ => V1Results.True(),
        };
    }
}
