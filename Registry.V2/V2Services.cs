using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Registry.V2.Access;
using Registry.V2.Blobs;
using Registry.V2.Http;
using Registry.V2.Manifests;
using Registry.V2.Notifications;
using Registry.V2.Proxy;
using Registry.V2.Routing;
using Registry.V2.Uploads;

namespace Registry.V2;

/// <summary>Wires the v2 API into a host: its services, the handler of every route of <see cref="V2Routes"/>, and the common headers.</summary>
public static class V2Services
{
    public static IServiceCollection AddRegistryV2(this IServiceCollection services)
    {
        services.AddSingleton<V2Access>();
        services.AddSingleton<Token.TokenServer>();
        services.AddSingleton<V2Dispatcher>();
        services.AddSingleton<ManifestReadCache>();
        services.AddSingleton<ManifestStore>();
        services.AddSingleton<BlobStore>();
        services.AddSingleton<UploadSessions>();
        services.AddSingleton<Mirrors>();
        services.AddSingleton<ManifestMirror>();
        services.AddSingleton<BlobMirror>();
        services.AddSingleton<V2Events>();
        foreach (var handler in V2Routes.HandlerTypes) services.AddSingleton(handler);
        return services;
    }

    /// <summary>Every response under <c>/v2</c> carries <c>Docker-Distribution-API-Version</c> (Docker Registry HTTP API V2, 'API Version Check').</summary>
    public static IApplicationBuilder UseV2Headers(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (V2Route.IsV2Path(context.Request.Path.Value))
        {
            context.Response.OnStarting(() =>
            {
                context.Response.Headers[V2Results.ApiVersionHeader] = V2Results.ApiVersion;
                return Task.CompletedTask;
            });
        }
        await next(context);
    });
}
