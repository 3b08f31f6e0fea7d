using Registry.Core.Storage;
using Registry.Index.Search;

namespace Registry.V1.Hosting;

/// <summary>Before the first request: remove crash leftovers from storage and fill an empty search index.</summary>
public sealed class StartupTasks(IStorageDriver storage, ISearchIndex search, RepositoryCatalog catalog, ILogger<StartupTasks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await storage.CleanupTempAsync(cancellationToken);
        if (search is NullSearchIndex || await search.CountAsync(cancellationToken) > 0) return;
        var found = await catalog.RebuildAsync(cancellationToken);
        logger.LogInformation("Search index was empty; rebuilt from storage with {Count} repositories", found.Count);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
