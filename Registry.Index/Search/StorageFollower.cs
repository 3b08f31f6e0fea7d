using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.Core.Storage;

namespace Registry.Index.Search;

/// <summary>
/// Keeps search, and <c>_catalog</c> when it is served from the index (<see cref="DistributionCatalog.FromIndex"/>), in
/// step with storage changed behind the registry's back: a repository directory removed with <c>rm -rf</c> or copied in
/// by hand. Both are kept by the registry's own writes, so without this they would list a removed repository until a
/// restart or <c>reindex</c>.
/// <list type="bullet">
/// <item>On file storage, every <see cref="RegistrySettings.SearchWatchSeconds"/> it compares the modification times
/// of the namespace directories (V1 <c>repositories/&lt;ns&gt;</c>; v2 the repositories directory and its first level)
/// with the previous look; a directory whose entries changed is listed and compared with what the index holds under
/// it, and each name that differs is synced (<see cref="RepositoryCatalog.SyncKeyAsync"/>; for the catalog the whole
/// subtree of a changed first-level directory, <see cref="DistributionCatalog.SyncUnderAsync"/>). A stat per namespace,
/// so it stays cheap at a million repositories; names changed deeper than that (<c>a/b/c</c> removed from an
/// <c>a/b</c> that stays) are left to the reconcile.</item>
/// <item>On any storage, every <see cref="RegistrySettings.SearchReconcileSeconds"/> (S3's default is 10 minutes, off
/// on files), a full scan is compared with the index and the differences synced.</item>
/// </list>
/// The catalog's table is filled from storage first, once per start, after the watch's baseline (so that nothing changed
/// during the fill is missed); until then <c>_catalog</c> walks storage. Every instance follows on its own; a sync is
/// idempotent and serialized per name with the registry's own writes.
/// </summary>
public sealed class StorageFollower(
    IStorageDriver storage, RepositoryCatalog catalog, DistributionCatalog distribution, ISearchIndex index, IPrivateRepositories privates,
    RegistrySettings settings, ILogger<StorageFollower> log) : BackgroundService
{
    /// <summary>A directory modified this recently may change again within the same timestamp tick: looked at again next time.</summary>
    private static readonly TimeSpan Settling = TimeSpan.FromSeconds(2);

    /// <summary>How long the first fill of the catalog's table waits before trying again after a failure.</summary>
    private static readonly TimeSpan FillRetry = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, DateTime> _seen = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unsettled = new(StringComparer.Ordinal);
    private readonly bool _search = settings.SearchEnabled;
    private bool _baseline;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_search && !distribution.FromIndex) return;
        // Off the host's start-up path: the baseline look stats every namespace directory.
        await Task.Yield();
        var root = storage.Find<FileSystemStorageDriver>()?.Root;
        var watch = root is not null && settings.SearchWatchSeconds > 0 ? TimeSpan.FromSeconds(settings.SearchWatchSeconds) : (TimeSpan?)null;
        var reconcileSeconds = settings.SearchReconcileSeconds ?? (root is null ? RegistrySettings.DefaultSearchReconcileSeconds : 0);
        var reconcile = reconcileSeconds > 0 ? TimeSpan.FromSeconds(reconcileSeconds) : (TimeSpan?)null;
        try
        {
            if (watch is not null) await BaselineAsync(root!, stoppingToken);
            if (distribution.FromIndex) await FillCatalogAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        if (watch is null && reconcile is null) return;

        var nextReconcile = DateTime.UtcNow + (reconcile ?? TimeSpan.Zero);
        var tick = watch ?? reconcile!.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(tick, stoppingToken);
                if (watch is not null) await LookAsync(root!, stoppingToken);
                if (reconcile is { } every && DateTime.UtcNow >= nextReconcile)
                {
                    // The catalog first, as in a look: a search sync that fails must not hold it back.
                    await distribution.ReconcileAsync(stoppingToken);
                    if (_search) await ReconcileAsync(stoppingToken);
                    nextReconcile = DateTime.UtcNow + every;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The index database or storage being away is not this loop's to report loudly: it tries again next tick.
                log.LogWarning("following storage for search and the catalog: {Error}; trying again in {Seconds} s", e.Message, tick.TotalSeconds);
            }
        }
    }

    /// <summary>The watch's first look; one that fails leaves the baseline to the next tick (and a failure is no reason to stop the host).</summary>
    private async Task BaselineAsync(string root, CancellationToken ct)
    {
        try
        {
            await LookAsync(root, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            log.LogWarning("following storage: the first look failed: {Error}; trying again in {Seconds} s", e.Message, settings.SearchWatchSeconds);
        }
    }

    /// <summary>The first fill of the catalog's table, tried until it succeeds: serving does not wait for it (the walk answers meanwhile).</summary>
    private async Task FillCatalogAsync(CancellationToken ct)
    {
        while (true)
        {
            try
            {
                await distribution.ReconcileAsync(ct);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                log.LogWarning("filling the catalog from storage: {Error}; trying again in {Seconds} s", e.Message, FillRetry.TotalSeconds);
                await Task.Delay(FillRetry, ct);
            }
        }
    }

    /// <summary>One look at the namespace directories' modification times; the first only takes the baseline.</summary>
    internal async Task LookAsync(string root, CancellationToken ct)
    {
        var changed = new List<(string Directory, bool V2)>();
        var present = new HashSet<string>(StringComparer.Ordinal);
        var now = DateTime.UtcNow;

        void Check(string directory, bool v2)
        {
            present.Add(directory);
            var modified = Directory.GetLastWriteTimeUtc(directory);
            var known = _seen.TryGetValue(directory, out var before);
            if (_baseline && (!known || before != modified || _unsettled.Contains(directory))) changed.Add((directory, v2));
            _seen[directory] = modified;
            if (now - modified < Settling) _unsettled.Add(directory);
            else _unsettled.Remove(directory);
        }

        var v1Root = Path.Combine(root, StoragePaths.RepositoriesDir);
        if (Directory.Exists(v1Root))
            foreach (var ns in Directory.EnumerateDirectories(v1Root)) Check(ns, v2: false);
        var v2Root = Path.Combine(root, DistributionPaths.RepositoriesDir);
        if (Directory.Exists(v2Root))
        {
            Check(v2Root, v2: true);
            foreach (var child in Directory.EnumerateDirectories(v2Root))
                if (!Path.GetFileName(child).StartsWith('_')) Check(child, v2: true);
        }

        // A namespace directory removed as a whole: everything the index held under it goes.
        foreach (var gone in _seen.Keys.Where(k => !present.Contains(k)).ToList())
        {
            _seen.Remove(gone);
            _unsettled.Remove(gone);
            if (_baseline) changed.Add((gone, gone.StartsWith(v2Root, StringComparison.Ordinal)));
        }

        _baseline = true;
        // The catalog first: a search sync that fails must not hold it back. The repositories directory's own change
        // shows as its first-level directories added or gone, each looked at here.
        if (distribution.FromIndex)
            foreach (var (directory, _) in changed.Where(c => c.V2 && c.Directory != v2Root))
                await distribution.SyncUnderAsync(Path.GetFileName(directory), ct);
        if (!_search) return;
        foreach (var (directory, v2) in changed)
        {
            if (v2) await FollowV2Async(v2Root, directory, ct);
            else await FollowV1Async(directory, ct);
        }
    }

    /// <summary>A V1 namespace directory changed: its repositories on disk against the index's names under it.</summary>
    private async Task FollowV1Async(string nsDirectory, CancellationToken ct)
    {
        var nsDisk = Path.GetFileName(nsDirectory);
        var prefix = StoragePaths.RepositoryFromDisk(nsDisk, "x").Namespace + "/";
        var onDisk = new HashSet<string>(StringComparer.Ordinal);
        if (Directory.Exists(nsDirectory))
        {
            foreach (var repoDirectory in Directory.EnumerateDirectories(nsDirectory))
            {
                var name = StoragePaths.RepositoryFromDisk(nsDisk, Path.GetFileName(repoDirectory));
                // A directory the API cannot spell is not a repository this server serves.
                if (StoragePaths.RepositoryDir(name) == $"{StoragePaths.RepositoriesDir}/{nsDisk}/{Path.GetFileName(repoDirectory)}")
                    onDisk.Add(name.FullName);
            }
        }

        await SyncDifferencesAsync(prefix, onDisk, ct);
    }

    /// <summary>The v2 repositories directory (one-part names) or one of its namespaces (two-part names) changed.</summary>
    private async Task FollowV2Async(string v2Root, string directory, CancellationToken ct)
    {
        var prefix = directory == v2Root ? "" : Path.GetFileName(directory) + "/";
        var onDisk = new HashSet<string>(StringComparer.Ordinal);
        if (Directory.Exists(directory))
        {
            foreach (var child in Directory.EnumerateDirectories(directory))
            {
                var name = prefix + Path.GetFileName(child);
                if (DistributionName.IsValid(name) && Directory.Exists(Path.Combine(child, DistributionPaths.ManifestsDirName)))
                    onDisk.Add(name);
            }
        }

        await SyncDifferencesAsync(prefix, onDisk, ct);
    }

    /// <summary>Syncs every name directly under <paramref name="prefix"/> that storage and the indexes disagree on.</summary>
    private async Task SyncDifferencesAsync(string prefix, HashSet<string> onDisk, CancellationToken ct)
    {
        var listed = new HashSet<string>(await index.ListNamesUnderAsync(prefix, ct), StringComparer.Ordinal);
        foreach (var entry in await privates.ListAllAsync(ct))
            if (entry.Name.StartsWith(prefix, StringComparison.Ordinal) && entry.Name.IndexOf('/', prefix.Length) < 0) listed.Add(entry.Name);
        var differ = new SortedSet<string>(onDisk.Where(n => !listed.Contains(n)), StringComparer.Ordinal);
        differ.UnionWith(listed.Where(n => !onDisk.Contains(n)));
        foreach (var name in differ) await catalog.SyncKeyAsync(name, ct);
        if (differ.Count > 0) log.LogInformation("search follows storage changed under '{Prefix}': {Count} repositories synced", prefix, differ.Count);
    }

    /// <summary>
    /// The whole storage against the whole index (names, privacy and descriptions): what a periodic reconcile, S3, and the
    /// catch-up after an unclean stop rely on. Returns how many repositories it synced. Names pushed while it runs are
    /// synced by their own writes; one it finds different is synced from what storage holds at that moment.
    /// </summary>
    public async Task<int> ReconcileAsync(CancellationToken ct)
    {
        var stored = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        await foreach (var entry in catalog.ScanAsync(ct)) stored[entry.Name] = entry;
        var differ = new SortedSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (entries, isPrivate) in new[] { (await index.ListAllAsync(ct), false), (await privates.ListAllAsync(ct), true) })
        {
            foreach (var entry in entries)
            {
                seen.Add(entry.Name);
                if (!stored.TryGetValue(entry.Name, out var found) || found.Private != isPrivate || found.Description != entry.Description)
                    differ.Add(entry.Name);
            }
        }

        differ.UnionWith(stored.Keys.Where(name => !seen.Contains(name)));
        foreach (var name in differ) await catalog.SyncKeyAsync(name, ct);
        if (differ.Count > 0) log.LogInformation("search reconciled with storage: {Count} repositories synced", differ.Count);
        return differ.Count;
    }
}
