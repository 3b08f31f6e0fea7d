using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Search;

namespace Registry.V1.Hosting;

/// <summary>Before the first request: remove crash leftovers, record image membership, fill an empty search index.</summary>
public sealed class StartupTasks(
    IStorageDriver storage, ISearchIndex search, RepositoryCatalog catalog, AuthSettings auth, RepositoryImages membership, ILogger<StartupTasks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await storage.CleanupTempAsync(cancellationToken);
        // Image reads are checked against the repositories listing them; a data directory written before
        // authentication was on has no such record yet.
        if (auth.Enabled && await membership.CountAsync(cancellationToken) == 0)
        {
            var repositories = await membership.RebuildAsync(storage, cancellationToken);
            logger.LogInformation("Recorded the images of {Count} repositories for access checks", repositories);
        }
        if (search is NullSearchIndex || await search.CountAsync(cancellationToken) > 0) return;
        var found = await catalog.RebuildAsync(cancellationToken);
        logger.LogInformation("Search index was empty; rebuilt from storage with {Count} repositories", found.Count);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
