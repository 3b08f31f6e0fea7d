using Registry.Core.Configuration;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Database.Sqlite;
using Registry.Index.Repositories;
using Registry.Index.Search;

namespace Registry.V1.Hosting;

/// <summary>
/// Before the first request: remove crash leftovers from storage, and rebuild the search index (and, with
/// authentication, the image membership used by access checks) when it is empty or the previous run did not
/// stop cleanly. At a clean stop (after the server has drained) the marker goes.
/// </summary>
public sealed class StartupTasks(
    IStorageDriver storage, ISearchIndex search, RepositoryCatalog catalog, AuthSettings auth, IRepositoryImages membership, MembershipRebuild rebuild,
    ILogger<StartupTasks> logger) : IHostedService
{
    /// <summary>Suffix of the marker beside the search database that exists while a server runs on it.</summary>
    public const string RunningMarkerSuffix = ".running";

    // Every write changes storage first and the index second, so a crash in between leaves the index behind
    // storage; only a database that was closed by a clean stop is known to agree with it.
    private string? RunningMarker => search is SqliteSearchIndex sqlite ? sqlite.FilePath + RunningMarkerSuffix : null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await storage.CleanupTempAsync(cancellationToken);
        var marker = RunningMarker;
        var uncleanStop = marker is not null && File.Exists(marker);
        // Created before the rebuilds: a crash during one must cause another.
        if (marker is not null) await File.WriteAllBytesAsync(marker, [], cancellationToken);

        // Image reads are checked against the repositories listing them; a data directory written before
        // authentication was on has no such record yet.
        if (auth.Enabled && (uncleanStop || await membership.CountAsync(cancellationToken) == 0))
        {
            var repositories = await rebuild.RunAsync(cancellationToken);
            logger.LogInformation("Recorded the images of {Count} repositories for access checks", repositories);
        }

        if (search is NullSearchIndex) return;
        if (!uncleanStop && await search.CountAsync(cancellationToken) > 0) return;
        var found = await catalog.RebuildAsync(cancellationToken);
        logger.LogInformation("Search index {Reason}; rebuilt from storage with {Count} repositories",
            uncleanStop ? "may lag storage after an unclean stop" : "was empty", found.Count);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (RunningMarker is { } marker) File.Delete(marker);
        return Task.CompletedTask;
    }
}
