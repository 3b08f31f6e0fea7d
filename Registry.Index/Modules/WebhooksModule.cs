using System.Text.Json;
using System.Text.Json.Nodes;
using Carter;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Index.Webhooks;
using K = Registry.Core.Names.RepositoryRouteKind;

namespace Registry.Index.Modules;

/// <summary>
/// A repository's webhooks as Docker Hub had them (docs/operating.md, 'Repository webhooks'): list, register, remove.
/// Gated: only those who may write the repository reach the handlers.
/// </summary>
public sealed class WebhooksModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.MapRepository(["GET"], gated: true, ListAsync, K.Webhooks);
        app.MapRepository(["POST"], gated: true, AddAsync, K.Webhooks);
        app.MapRepository(["DELETE"], gated: true, RemoveAsync, K.Webhook);
    }

    private static async Task<IResult> ListAsync(HttpContext http, WebhookService svc, CancellationToken ct) =>
        V1Results.Json(JsonSerializer.SerializeToNode(await svc.ListAsync(http.Route().Name!, ct)));

    private static async Task<IResult> AddAsync(HttpContext http, WebhookService svc, RegistrySettings settings, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync(http.Request, settings.MaxJsonBodyBytes, ct);
        if (body is null) return V1Results.Error(413, "Request body too large");
        return await svc.AddAsync(http.Route().Name!, body, ct) switch
        {
            AddWebhookResult.Created created => V1Results.Json(JsonSerializer.SerializeToNode(created.Webhook), 201),
            AddWebhookResult.InvalidUrl invalid => V1Results.Error(400, invalid.Problem),
            _ => V1Results.Error(400, "Error Decoding JSON: expected {\"url\": \"http(s)://...\"}"),
        };
    }

    private static async Task<IResult> RemoveAsync(HttpContext http, WebhookService svc, CancellationToken ct) =>
        await svc.RemoveAsync(http.Route().Name!, http.Route().Tag!, ct) ? V1Results.Empty(204) : V1Results.Error(404, "Webhook not found");
}
