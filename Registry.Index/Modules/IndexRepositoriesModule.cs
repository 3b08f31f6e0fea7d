using Carter;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Index.Accounts;
using Registry.Index.Repositories;
using K = Registry.Core.Names.RepositoryRouteKind;

namespace Registry.Index.Modules;

/// <summary>
/// The index's repository routes (Docker Hub API, 'Repositories'): image lists and tokens. Mounted only in standalone mode, and not by a registry-only instance (<c>role: registry</c>).
/// </summary>
public sealed class IndexRepositoriesModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        var settings = app.ServiceProvider.GetRequiredService<RegistrySettings>();
        if (!settings.Standalone || !settings.Roles.ServesIndex) return;

        app.MapRepository(["PUT"], gated: true, PutRepositoryAsync, K.RootSlash, K.Root);
        app.MapRepository(["PUT"], gated: true, PutImagesAsync, K.Images);
        app.MapRepository(["GET", "HEAD"], gated: true, GetImagesAsync, K.Images);
        app.MapRepository(["DELETE"], gated: true, DeleteImages, K.Images);
        app.MapRepository(["PUT"], gated: false, () => V1Results.JsonString("OK"), K.Auth);
    }

    private static Task<IResult> PutRepositoryAsync(HttpContext http, IndexImagesService svc, TokenService tokens, RegistrySettings settings, CancellationToken ct) =>
        PutAsync(http, svc, tokens, settings, V1Results.JsonString(""), ct);

    private static Task<IResult> PutImagesAsync(HttpContext http, IndexImagesService svc, TokenService tokens, RegistrySettings settings, CancellationToken ct) =>
        PutAsync(http, svc, tokens, settings, V1Results.Empty(204), ct);

    private static async Task<IResult> PutAsync(HttpContext http, IndexImagesService svc, TokenService tokens, RegistrySettings settings, IResult success, CancellationToken ct)
    {
        var name = http.Route().Name!;
        var body = await JsonBody.ReadAsync(http.Request, settings.MaxJsonBodyBytes, ct);
        if (body is null) return V1Results.Error(413, "Request body too large");
        var result = await svc.PutImagesAsync(name, body, ct);
        if (result == PutImagesResult.DecodeError) return V1Results.Error(400, "Error Decoding JSON");
        if (result == PutImagesResult.InvalidData) return V1Results.Error(400, "Invalid data");
        await tokens.AddTokenHeadersAsync(http, name, "write", ct);
        return success;
    }

    private static async Task<IResult> GetImagesAsync(
        HttpContext http, IndexImagesService svc, TokenService tokens, IUpstreamImageLists upstream, CancellationToken ct)
    {
        var name = http.Route().Name!;
        var images = await svc.GetImagesAsync(name, ct);
        if (images is null && await upstream.FetchAsync(name, ct) is { } failure) return V1Results.UpstreamError(failure);
        images ??= await svc.GetImagesAsync(name, ct);
        if (images is null) return V1Results.Error(404, "images not found");
        await tokens.AddTokenHeadersAsync(http, name, "read", ct);
        return V1Results.Raw(images, immutable: false);
    }

    private static async Task<IResult> DeleteImages(HttpContext http, TokenService tokens, CancellationToken ct)
    {
        await tokens.AddTokenHeadersAsync(http, http.Route().Name!, "delete", ct);
        return V1Results.Empty(204);
    }
}
