using Microsoft.Extensions.DependencyInjection.Extensions;
using Registry.Index.Repositories;
using Registry.Index.Search;
using Registry.V1.Images;
using Registry.V1.Mirroring;
using Registry.V1.Maintenance;
using Registry.V1.Notifications;
using Registry.V1.Repositories;

namespace Registry.V1;

/// <summary>Registers the V1 API's services (images, layers, repositories), mirroring and garbage collection.</summary>
public static class V1Services
{
    /// <summary>Needs <c>AddRegistryCore</c> and <c>AddRegistryIndexAsync</c>.</summary>
    public static IServiceCollection AddRegistryV1(this IServiceCollection services)
    {
        services.AddSingleton<ImageService>();
        services.AddSingleton<LayerFilesService>();
        services.AddSingleton<RepositoryService>();
        services.AddSingleton<GarbageCollector>();
        services.AddSingleton<V1Events>();
        services.AddSingleton<V1Upstream>();
        services.AddSingleton<MirrorImageService>();
        services.AddSingleton<MirrorLayerService>();
        services.AddSingleton<MirrorTagService>();
        services.AddSingleton<MirrorRepositoryJsonService>();
        services.Replace(ServiceDescriptor.Singleton<IUpstreamImageLists, MirrorIndexService>());
        services.Replace(ServiceDescriptor.Singleton<IUpstreamSearch, MirrorSearch>());
        return services;
    }
}
