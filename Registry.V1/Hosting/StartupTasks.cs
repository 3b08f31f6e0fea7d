using Registry.Core.Configuration;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Database.Sqlite;
using Registry.Index.Repositories;
using Registry.Index.Search;

namespace Registry.V1.Hosting;

/// <summary>
/// Before the first request: rebuild the image membership used by access checks (with authentication) when it is
/// empty or the previous run did not stop cleanly, and the search index when it is empty. Then, in the background so
/// that the registry serves within seconds whatever the size of storage: remove the temp files a crash left (only
/// those older than this process, <see cref="IStorageDriver.CleanupTempAsync"/>), and after an unclean stop bring
/// the search index up to storage (<see cref="StorageFollower.ReconcileAsync"/>: every write changes storage first
/// and the index second, so a crash in between leaves the index behind storage by the writes cut short). At a clean
/// stop, after the server has drained and the catch-up has ended, the marker goes.
/// </summary>
public sealed class StartupTasks(
    IStorageDriver storage, ISearchIndex search, RepositoryCatalog catalog, StorageFollower follower, AuthSettings auth,
    IRepositoryImages membership, MembershipRebuild rebuild, ILogger<StartupTasks> logger) : IHostedService
{
    /// <summary>Suffix of the marker beside the search database that exists while a server runs on it.</summary>
    public const string RunningMarkerSuffix = ".running";

    private readonly CancellationTokenSource _stopping = new();
    private Task _background = Task.CompletedTask;
    private volatile bool _caughtUp = true;

    // Only a database that was closed by a clean stop is known to agree with storage.
    private string? RunningMarker => search is SqliteSearchIndex sqlite ? sqlite.FilePath + RunningMarkerSuffix : null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
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

        var catchUp = false;
        if (search is not NullSearchIndex)
        {
            if (await search.CountAsync(cancellationToken) == 0)
            {
                var found = await catalog.RebuildAsync(cancellationToken);
                logger.LogInformation("Search index was empty; rebuilt from storage with {Count} repositories", found.Count);
            }
            else catchUp = uncleanStop;
        }

        _caughtUp = !catchUp;
        _background = Task.Run(() => BackgroundAsync(catchUp, _stopping.Token), CancellationToken.None);
    }

    private async Task BackgroundAsync(bool catchUp, CancellationToken ct)
    {
        try
        {
            await storage.CleanupTempAsync(ct);
            if (!catchUp) return;
            logger.LogInformation("Search index may lag storage after an unclean stop; catching up in the background");
            var synced = await follower.ReconcileAsync(ct);
            _caughtUp = true;
            logger.LogInformation("Search index caught up with storage after an unclean stop: {Count} repositories synced", synced);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // The marker stays, so the next start catches up again.
            logger.LogError(e, "Start-up clean-up or search catch-up failed: {Message}", e.Message);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _background.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_caughtUp && RunningMarker is { } marker) File.Delete(marker);
    }
}
