using System.Diagnostics;
using Registry.Core.Concurrency;
using Registry.Core.Configuration;
using Registry.Core.Maintenance;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Search;
using Registry.V2.Maintenance;

namespace Registry.V1.Maintenance;

/// <summary>
/// Online mark-and-sweep over both layouts of one storage (docs/storage-layout.md, 'V1 tree', distribution's Garbage Collection doc): V1 images that no
/// tag's ancestry reaches, v2 blobs that no kept manifest references, their repositories' dangling links,
/// abandoned v2 upload sessions and V1 pushes. Safe while the registry serves (docs/garbage-collection.md, 'Guarantees'):
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
/// Each layout has its collector, in the project of that layout (<see cref="V1Collector"/>, <see cref="V2Collector"/>);
/// this class takes the lease, runs them over one <see cref="GcRun"/>, and afterwards syncs the search index for
/// every repository that lost something.
/// </summary>
public sealed class GarbageCollector(
    IStorageDriver storage,
    IGcCoordinator coordinator,
    RepositoryCatalog catalog,
    IRepositoryImages membership,
    GcSettings settings,
    ILogger<GarbageCollector> logger,
    TimeProvider? time = null,
    RegistrySettings? registry = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    // V1 before v2, as the report lists them. The proxy settings give the v2 collector its mirror retentions.
    private readonly IGcCollector[] _collectors = [new V1Collector(membership), new V2Collector(registry?.Proxy)];

    public GcSettings Settings => settings;

    /// <param name="progress">Told how each sweep advances, batch by batch.</param>
    public async Task<GcRunResult> RunAsync(GcOptions options, CancellationToken ct, IProgress<WorkProgress>? progress = null)
    {
        await using var collection = await coordinator.BeginCollectionAsync(ct);
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
            var run = new GcRun(storage, coordinator, options, t0, settings.Grace, settings.UploadMaxAge, settings.BatchSizeFor(storage), lease) { Progress = progress };
            foreach (var collector in _collectors) await collector.CollectAsync(run, ct);
            await SyncSearchAsync(run, ct);
            var report = run.Report(watch.ElapsedMilliseconds);
            Registry.Core.Observability.RegistryMetrics.GcCompleted(report);
            logger.LogInformation("gc{DryRun}: {Items} items, {Bytes} bytes {Verb} in {Ms} ms",
                options.DryRun ? " (dry run)" : "", report.TotalItems, report.TotalBytes, options.DryRun ? "would go" : "freed", report.DurationMs);
            return new GcRunResult(GcRunStatus.Completed, report);
        }
        finally
        {
            if (lease is not null) await lease.ReleaseAsync();
        }
    }

    /// <summary>
    /// Every repository that lost something is re-synced with storage (listed, unlisted or described anew), a few at once
    /// as concurrent requests sync theirs (each sync is serialized per name): on S3 a sync is a few round trips, and a
    /// run that emptied 500 repositories waited for 1,500 of them one after the other.
    /// </summary>
    private async Task SyncSearchAsync(GcRun run, CancellationToken ct)
    {
        if (run.DryRun) return;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = run.ReadsInFlight, CancellationToken = ct };
        await Parallel.ForEachAsync(run.ChangedV1Repositories.Order(StringComparer.Ordinal), parallel,
            async (name, token) => await catalog.SyncAsync(RepositoryName.FromLogical(name), token));
        await Parallel.ForEachAsync(run.ChangedV2Repositories.Order(StringComparer.Ordinal), parallel,
            async (name, token) => await catalog.SyncV2Async(name, token));
    }
}
