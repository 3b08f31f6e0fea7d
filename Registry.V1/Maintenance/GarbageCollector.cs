using System.Diagnostics;
using Registry.Core.Concurrency;
using Registry.Core.Configuration;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Search;

namespace Registry.V1.Maintenance;

/// <summary>
/// Online mark-and-sweep over both layouts of one storage (issue #8; v1 spec §7, v2 spec §5): V1 images that no
/// tag's ancestry reaches, v2 blobs that no kept manifest references, their repositories' dangling links,
/// abandoned v2 upload sessions and V1 pushes. Safe while the registry serves (v2 spec §5.5):
/// <list type="bullet">
/// <item>G1: nothing whose file time is at or after <c>T0 − grace</c> is swept; T0 is the storage's own time of the
/// run's lock write, so file times and T0 come from one clock.</item>
/// <item>G2/G3: writers touch what they reference under <see cref="GcCoordinator"/>'s shared side; the sweep deletes
/// per batch under the exclusive side after re-reading file times and the touched set.</item>
/// <item>Whatever is kept is a root too: a young or touched image keeps its ancestry, a young link keeps its blob, a
/// young revision keeps what it references; children are deleted before parents and links before data (G4).</item>
/// <item>G7: one run at a time (the coordinator in process, <see cref="GcStorageLock"/> across processes); a crash
/// leaves only garbage for the next run, never a link to missing data.</item>
/// </list>
/// Afterwards the search index is synced for every repository that lost something.
/// </summary>
public sealed partial class GarbageCollector(
    IStorageDriver storage,
    GcCoordinator coordinator,
    RepositoryCatalog catalog,
    IRepositoryImages membership,
    GcSettings settings,
    ILogger<GarbageCollector> logger,
    TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public GcSettings Settings => settings;

    public async Task<GcRunResult> RunAsync(GcOptions options, CancellationToken ct)
    {
        using var collection = await coordinator.BeginCollectionAsync(ct);
        if (collection is null) return new GcRunResult(GcRunStatus.AlreadyRunning, null, "another collection in this process");

        GcStorageLock? lease = null;
        DateTimeOffset t0;
        if (options.DryRun)
        {
            // A dry run writes nothing, not even the lock; it reads the clock of this host.
            t0 = _time.GetUtcNow();
        }
        else
        {
            var (acquired, holder) = await GcStorageLock.TryAcquireAsync(storage, settings.LockTimeout, settings.LeaseSettle, _time, ct);
            if (acquired is null) return new GcRunResult(GcRunStatus.AlreadyRunning, null, holder);
            lease = acquired;
            t0 = acquired.StorageTime;
        }

        try
        {
            var watch = Stopwatch.StartNew();
            var run = new Run(this, options, t0, lease);
            await run.CollectV1Async(ct);
            await run.CollectV2Async(ct);
            await run.SyncSearchAsync(ct);
            var report = run.Report(watch.ElapsedMilliseconds);
            logger.LogInformation("gc{DryRun}: {Items} items, {Bytes} bytes {Verb} in {Ms} ms",
                options.DryRun ? " (dry run)" : "", report.TotalItems, report.TotalBytes, options.DryRun ? "would go" : "freed", report.DurationMs);
            return new GcRunResult(GcRunStatus.Completed, report);
        }
        finally
        {
            if (lease is not null) await lease.ReleaseAsync();
        }
    }

    /// <summary>The state of one run: cut-off times, the mark sets, what was queued, kept and deleted.</summary>
    private sealed partial class Run(GarbageCollector gc, GcOptions options, DateTimeOffset t0, GcStorageLock? lease)
    {
        private readonly IStorageDriver _storage = gc.Storage;
        private readonly GcCoordinator _coordinator = gc.Coordinator;

        // Young: written at or after T0 − grace. Abandoned uploads and pushes must be older than both windows.
        private readonly DateTimeOffset _cutoff = t0 - gc.Settings.Grace;
        private readonly DateTimeOffset _uploadCutoff = t0 - (gc.Settings.UploadMaxAge > gc.Settings.Grace ? gc.Settings.UploadMaxAge : gc.Settings.Grace);

        private readonly List<GcItem> _items = [];
        private readonly HashSet<string> _changedV1 = new(StringComparer.Ordinal);
        private readonly HashSet<string> _changedV2 = new(StringComparer.Ordinal);
        private int _kept;
        private int _markedImages;
        private int _markedBlobs;

        private bool DryRun => options.DryRun;

        private bool IsYoung(DateTimeOffset? modified) => modified is { } m && m >= _cutoff;

        private bool IsYoungUpload(DateTimeOffset? modified) => modified is { } m && m >= _uploadCutoff;

        public GcReport Report(long elapsedMs) => new(
            options.DryRun,
            options.DeleteUntagged,
            t0,
            elapsedMs,
            (long)gc.Settings.Grace.TotalSeconds,
            _markedImages,
            _markedBlobs,
            _kept,
            GcReport.Summarize(_items),
            _items.Count,
            _items.Sum(i => i.Bytes),
            _items);

        public async Task SyncSearchAsync(CancellationToken ct)
        {
            if (DryRun) return;
            foreach (var name in _changedV1.Order(StringComparer.Ordinal))
                await gc.Catalog.SyncAsync(Registry.Core.Names.RepositoryName.FromLogical(name), ct);
            foreach (var name in _changedV2.Order(StringComparer.Ordinal))
                await gc.Catalog.SyncV2Async(name, ct);
        }

        /// <summary>Runs deletes in batches under the exclusive side, renewing the lease between batches.</summary>
        private async Task SweepAsync<T>(IReadOnlyList<T> queue, Func<T, Task> deleteOne, CancellationToken ct)
        {
            for (var start = 0; start < queue.Count; start += gc.Settings.BatchSize)
            {
                if (lease is not null) await lease.RenewAsync(ct);
                using (await _coordinator.EnterSweepAsync(ct))
                {
                    // No cancellation inside a batch: each delete leaves a consistent state, but a batch is short.
                    foreach (var item in queue.Skip(start).Take(gc.Settings.BatchSize))
                        await deleteOne(item);
                }
            }
        }

        /// <summary>The bytes of every object at or below <paramref name="path"/>.</summary>
        private async Task<long> TreeSizeAsync(string path, CancellationToken ct)
        {
            if (await _storage.SizeAsync(path, ct) is { } size) return size;
            long total = 0;
            foreach (var child in await _storage.ListAsync(path, ct)) total += await TreeSizeAsync(child, ct);
            return total;
        }

        /// <summary>The latest file time at or below <paramref name="path"/> (null when nothing is there).</summary>
        private async Task<DateTimeOffset?> TreeModifiedAsync(string path, CancellationToken ct)
        {
            if (await _storage.LastModifiedAsync(path, ct) is { } modified) return modified;
            DateTimeOffset? latest = null;
            foreach (var child in await _storage.ListAsync(path, ct))
                if (await TreeModifiedAsync(child, ct) is { } m && (latest is null || m > latest)) latest = m;
            return latest;
        }
    }

    // The primary-constructor parameters, for the nested run.
    private IStorageDriver Storage => storage;
    private GcCoordinator Coordinator => coordinator;
    private RepositoryCatalog Catalog => catalog;
    private IRepositoryImages Membership => membership;
}
