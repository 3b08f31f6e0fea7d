using Microsoft.Extensions.Logging;
using Registry.Core.Concurrency;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.Core.Storage;
using Registry.Index.Database;

namespace Registry.Index.Search;

/// <summary>
/// The repositories <c>GET /v2/_catalog</c> lists (Docker Registry HTTP API V2, 'Listing Repositories'): every directory
/// of the distribution layout that holds <c>_manifests</c>, tagged or not, private or not, whose name is valid, in catalog
/// order ('/' before every other character). With <see cref="FromIndex"/> they come from the index database
/// (<see cref="IDistributionNames"/>), kept by the registry's writes (<see cref="SyncAsync"/>) and by the
/// <see cref="StorageFollower"/>; otherwise, and until this start's fill from storage (<see cref="ReconcileAsync"/>)
/// has ended, from a walk of storage, so that an answer is never one the walk would not give.
/// </summary>
public sealed class DistributionCatalog(IStorageDriver storage, IIndexDatabase database, IKeyedLock locks, RegistrySettings settings, ILogger<DistributionCatalog> log)
{
    /// <summary>Most names read from the index at once while a page is filled.</summary>
    private const int MaxBatch = 1000;

    private static readonly IReadOnlySet<string> ManifestsDirectory = new HashSet<string>(StringComparer.Ordinal) { DistributionPaths.ManifestsDirName };

    private readonly IDistributionNames _names = database.DistributionNames;
    private volatile bool _filled;

    /// <summary>Whether <c>_catalog</c> is served from the index database (<c>catalog_from_index</c>).</summary>
    public bool FromIndex { get; } = settings.CatalogFromIndex ?? storage.Find<FileSystemStorageDriver>() is null;

    /// <summary>Whether the index has been filled from storage since this start (before that, pages come from the walk).</summary>
    public bool Filled => _filled;

    /// <summary>
    /// The names after <paramref name="after"/> in catalog order (all when empty); <paramref name="batch"/> is how many the
    /// caller expects to read, so that the index is asked for about that many at a time.
    /// </summary>
    public async IAsyncEnumerable<string> NamesAfterAsync(
        string after, int batch, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        if (!FromIndex || !_filled)
        {
            await foreach (var name in WalkAfterAsync(after, ct)) yield return name;
            yield break;
        }

        var fromKey = after.Length == 0 ? "" : CatalogKey.LowerBound(after);
        await foreach (var name in IndexNamesFromAsync(fromKey, Math.Clamp(batch, 1, MaxBatch), ct))
            if (after.Length == 0 || DistributionTree.CompareCatalogOrder(name, after) > 0) yield return name;
    }

    /// <summary>The index's names from <paramref name="fromKey"/> on, in catalog order, read <paramref name="size"/> at a time.</summary>
    private async IAsyncEnumerable<string> IndexNamesFromAsync(
        string fromKey, int size, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        while (true)
        {
            var names = await _names.PageAsync(fromKey, size, ct);
            foreach (var name in names) yield return name;
            if (names.Count < size) yield break;
            // No key lies strictly between a name's key and that key followed by the separator (its first child's).
            fromKey = CatalogKey.Of(names[^1]) + CatalogKey.Separator;
        }
    }

    /// <summary>The walk of storage: names after <paramref name="after"/> in catalog order, invalid ones left out.</summary>
    public async IAsyncEnumerable<string> WalkAfterAsync(string after, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var name in DistributionTree.RepositoriesAfterAsync(storage, ManifestsDirectory, DistributionName.MaxLength, after, ct))
            if (DistributionName.IsValid(name)) yield return name;
    }

    /// <summary>
    /// Brings the index's entry for <paramref name="name"/> in line with storage (after a write that may have created or
    /// removed its <c>_manifests</c>). Reads storage then writes the index under a per-name lock (shared across instances
    /// where the lock is), so that of two syncs racing a change, the one that read storage last also writes last.
    /// </summary>
    public async Task SyncAsync(string name, CancellationToken ct)
    {
        if (!FromIndex || !DistributionName.IsValid(name)) return;
        await using var held = await locks.AcquireAsync("catalog:" + name, ct);
        await SyncHeldAsync(name, ct);
    }

    /// <summary>
    /// The same, for a caller that reads the repository's tags anyway (the search sync): <paramref name="readTagged"/> runs
    /// under this sync's lock and says whether a tag points somewhere (null: not read). When it does, <c>_manifests</c> is
    /// there and the entry is written without listing the repository again (on S3 a request per manifest push).
    /// </summary>
    public async Task SyncAsync(string name, Func<CancellationToken, Task<bool?>> readTagged, CancellationToken ct)
    {
        if (!FromIndex || !DistributionName.IsValid(name))
        {
            await readTagged(ct);
            return;
        }
        await using var held = await locks.AcquireAsync("catalog:" + name, ct);
        if (await readTagged(ct) == true) await _names.AddAsync(name, ct);
        else await SyncHeldAsync(name, ct);
    }

    private async Task SyncHeldAsync(string name, CancellationToken ct)
    {
        // The walk's own test: the repository's listing names _manifests (an emptied tree of revision directories still
        // counts on files, as it does for the walk; on S3 a prefix without objects is not listed by either).
        var children = await storage.ListAsync(DistributionPaths.RepositoryDir(name), ct);
        if (children.Any(child => DistributionPaths.FileName(child) == DistributionPaths.ManifestsDirName)) await _names.AddAsync(name, ct);
        else await _names.RemoveAsync(name, ct);
    }

    /// <summary>
    /// Syncs <paramref name="top"/> and every name below it whose entry differs from storage: what the follower does for a
    /// directory found changed on disk. Returns how many names it synced.
    /// </summary>
    public async Task<int> SyncUnderAsync(string top, CancellationToken ct)
    {
        if (!FromIndex) return 0;
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var name in DistributionTree.RepositoriesUnderAsync(storage, ManifestsDirectory, DistributionName.MaxLength, top, ct))
            if (DistributionName.IsValid(name)) stored.Add(name);
        var synced = await SyncDifferencesAsync(stored, await _names.ListUnderAsync(top, ct), ct);
        if (synced > 0) log.LogInformation("_catalog follows storage changed under '{Top}': {Count} repositories synced", top, synced);
        return synced;
    }

    /// <summary>
    /// The whole walk against the whole index, differences synced; the first run after a start fills the index, after
    /// which pages come from it. Names written while it runs are synced by their own writes. Returns how many it synced.
    /// </summary>
    public async Task<int> ReconcileAsync(CancellationToken ct)
    {
        if (!FromIndex) return 0;
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var name in WalkAfterAsync("", ct)) stored.Add(name);
        var listed = new List<string>();
        await foreach (var name in IndexNamesFromAsync("", MaxBatch, ct)) listed.Add(name);
        var synced = await SyncDifferencesAsync(stored, listed, ct);
        if (!_filled) log.LogInformation("_catalog is served from the index database: {Count} repositories, {Synced} synced from storage", stored.Count, synced);
        else if (synced > 0) log.LogInformation("_catalog reconciled with storage: {Count} repositories synced", synced);
        _filled = true;
        return synced;
    }

    private async Task<int> SyncDifferencesAsync(HashSet<string> stored, IReadOnlyList<string> listed, CancellationToken ct)
    {
        var differ = new SortedSet<string>(stored, StringComparer.Ordinal);
        foreach (var name in listed)
            if (!differ.Remove(name)) differ.Add(name);
        foreach (var name in differ) await SyncAsync(name, ct);
        return differ.Count;
    }
}
