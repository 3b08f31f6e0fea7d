using Registry.Core.Concurrency;
using Registry.Core.Storage;

namespace Registry.Core.Maintenance;

/// <summary>
/// The state of one collection run that every <see cref="IGcCollector"/> shares: its start time (T0) and the cut-off times derived
/// from it, the lease, the coordinator (touched sets, exclusive side), what was deleted or kept, and the repositories
/// whose search entries must be synced afterwards.
/// </summary>
/// <param name="t0">The storage's time of the lease write (this host's clock for a dry run).</param>
/// <param name="grace">Nothing whose file time is at or after <c>t0 − grace</c> is swept, so a push under way keeps what it wrote.</param>
/// <param name="uploadMaxAge">Unfinished V1 images and v2 upload sessions must also be older than this.</param>
/// <param name="batchSize">Deletes per exclusive section: writers wait at most for one batch.</param>
/// <param name="lease">The storage lock, renewed between batches; null for a dry run.</param>
public sealed class GcRun(
    IStorageDriver storage, IGcCoordinator coordinator, GcOptions options, DateTimeOffset t0,
    TimeSpan grace, TimeSpan uploadMaxAge, int batchSize, GcStorageLock? lease)
{
    // Young: written at or after t0 − grace. Abandoned uploads and pushes must be older than both windows.
    private readonly DateTimeOffset _cutoff = t0 - grace;
    private readonly DateTimeOffset _uploadCutoff = t0 - (uploadMaxAge > grace ? uploadMaxAge : grace);
    private readonly GcTally _items = new(ReportedItems);
    private int _kept;

    /// <summary>
    /// Items a report lists one by one (<see cref="GcReport.Items"/>); beyond them only the counts and bytes grow, so
    /// a run's memory does not grow with what it deletes.
    /// </summary>
    public const int ReportedItems = 1000;

    public IStorageDriver Storage => storage;

    /// <summary>T0: the run's start on the storage's clock; retention windows are measured back from it.</summary>
    public DateTimeOffset StartedAt => t0;

    public IGcCoordinator Coordinator => coordinator;

    public GcOptions Options => options;

    public bool DryRun => options.DryRun;

    /// <summary>Images the V1 collector's mark phase reached.</summary>
    public int MarkedImages { get; set; }

    /// <summary>Blobs the v2 collector's mark phase reached.</summary>
    public int MarkedBlobs { get; set; }

    /// <summary>V1 repositories ("ns/repo") that lost what search lists them by (an index list); their search entries are synced after the run.</summary>
    public ISet<string> ChangedV1Repositories { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>v2 repositories that lost a manifest or were removed whole (what search and <c>_catalog</c> list them by); their entries are synced after the run.</summary>
    public ISet<string> ChangedV2Repositories { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Where the sweep reports its progress (the <c>gc</c> verb's console); null when nobody watches.</summary>
    public IProgress<WorkProgress>? Progress { get; init; }

    /// <summary>Reports a phase of the scan or mark (<paramref name="total"/> null while still counting) to <see cref="Progress"/>; not counted as deletions.</summary>
    public void Report(string phase, long done, long? total = null) => Progress?.Report(new WorkProgress(phase, done, total, Counted: false));

    public bool IsYoung(DateTimeOffset? modified) => modified is { } m && m >= _cutoff;

    public bool IsYoungUpload(DateTimeOffset? modified) => modified is { } m && m >= _uploadCutoff;

    /// <summary>Records something that went (or, in a dry run, would go).</summary>
    public void Delete(GcItem item) => _items.Add(item);

    /// <summary>Counts unreferenced things kept (young, unfinished within the upload age, or touched).</summary>
    public void Keep(int count = 1) => _kept += count;

    public GcReport Report(long elapsedMs) => new(
        options.DryRun,
        options.DeleteUntagged,
        t0,
        elapsedMs,
        (long)grace.TotalSeconds,
        MarkedImages,
        MarkedBlobs,
        _kept,
        _items.Repositories(),
        _items.Count,
        _items.Bytes,
        _items.Items,
        _items.Count - _items.Items.Count);

    /// <summary>
    /// Storage deletes (and the sweep's re-reads) in flight at once. A delete mostly waits: on a file system mounted with
    /// <c>discard</c> each freed directory or file waits for its TRIM (about 2–3 ms on a virtual disk, most of a sweep's
    /// time), on S3 for a round trip; the decisions stay sequential, only these waits overlap.
    /// </summary>
    public const int DeleteConcurrency = 8;

    /// <summary>
    /// Whether each read is a round trip that costs this process little CPU (a store that streams whole subtrees from a
    /// listing, <see cref="IChildSubtreesReading"/>: S3), so that fewer, larger reads and more of them at once pay.
    /// </summary>
    public bool ReadsAreRoundTrips { get; } = ReadsAreRoundTripsOn(storage);

    /// <summary><see cref="ReadsAreRoundTrips"/> for a store, before a run exists (its batch size depends on it).</summary>
    public static bool ReadsAreRoundTripsOn(IStorageDriver storage) => storage.Find<IChildSubtreesReading>() is not null;

    /// <summary>
    /// Reads in flight at once in the scans and the sweep's re-reads: <see cref="ReadAhead.Window"/> on local storage,
    /// more where <see cref="ReadsAreRoundTrips"/>, since there the wait, not a core, is the limit.
    /// </summary>
    public int ReadsInFlight => ReadsAreRoundTrips ? RemoteReadsInFlight : ReadAhead.Window;

    private const int RemoteReadsInFlight = 16;

    private readonly SemaphoreSlim _deleteSlots = new(DeleteConcurrency);
    private readonly List<Task> _deletes = [];

    // Where the driver deletes many objects per request (S3's DeleteObjects): each item's steps wait here, step i of
    // every item in one request after step i − 1 of every item ended.
    private readonly IBatchDeleting? _batch = storage as IBatchDeleting;
    private readonly List<List<GcDeleteStep>> _steps = [];

    /// <summary>
    /// Runs deletes in batches under the exclusive side, renewing the lease between batches; <paramref name="what"/>
    /// names the queue's things in the progress reports. Storage deletes that <paramref name="deleteOne"/> hands to
    /// <see cref="DeleteInOrderAsync"/> run concurrently and have all ended before the batch leaves the exclusive side; when
    /// <paramref name="wave"/> changes between two items, those before have ended before the next is decided (V1: a
    /// child's directory is gone before its parent's).
    /// </summary>
    public Task SweepAsync<T>(string what, IReadOnlyList<T> queue, Func<T, Task> deleteOne, CancellationToken ct, Func<T, int>? wave = null) =>
        SweepBatchesAsync(what, queue, batch => Task.FromResult<IReadOnlyList<bool>>(new bool[batch.Count]), (item, _) => deleteOne(item), ct, wave);

    /// <summary>
    /// As <see cref="SweepAsync{T}(string,IReadOnlyList{T},Func{T,Task},CancellationToken,Func{T,int})"/>, with a
    /// re-read of each item under the exclusive side (<paramref name="read"/>) before the decisions, a few at once;
    /// <paramref name="decide"/> gets each item with its read, in queue order.
    /// </summary>
    public Task SweepAsync<T, TState>(
        string what, IReadOnlyList<T> queue, Func<T, Task<TState>> read, Func<T, TState, Task> decide, CancellationToken ct, Func<T, int>? wave = null) =>
        SweepBatchesAsync(what, queue, async batch =>
        {
            var states = new List<TState>(batch.Count);
            await foreach (var state in ReadAhead.InOrderAsync(batch, read, CancellationToken.None, ReadsInFlight)) states.Add(state);
            return states;
        }, decide, ct, wave);

    /// <summary>
    /// As <see cref="SweepAsync{T,TState}"/>, with one re-read of a whole batch (<paramref name="readBatch"/>, a state per
    /// item in batch order): items that share a directory share its read.
    /// </summary>
    public async Task SweepBatchesAsync<T, TState>(
        string what, IReadOnlyList<T> queue, Func<IReadOnlyList<T>, Task<IReadOnlyList<TState>>> readBatch, Func<T, TState, Task> decide,
        CancellationToken ct, Func<T, int>? wave = null)
    {
        for (var start = 0; start < queue.Count; start += batchSize)
        {
            if (lease is not null) await lease.RenewAsync(ct);
            await using (await coordinator.EnterSweepAsync(ct))
            {
                // No cancellation inside a batch: each delete leaves a consistent state, but a batch is short.
                try
                {
                    int? current = null;
                    var batch = queue.Skip(start).Take(batchSize).ToList();
                    var states = await readBatch(batch);
                    for (var i = 0; i < batch.Count; i++)
                    {
                        var (item, state) = (batch[i], states[i]);
                        var next = wave?.Invoke(item);
                        if (next != current) await DeletesEndedAsync();
                        current = next;
                        await decide(item, state);
                    }
                }
                finally
                {
                    await DeletesEndedAsync();
                }
            }
            Progress?.Report(new WorkProgress("deleting " + what, Math.Min(start + batchSize, queue.Count), queue.Count));
        }
    }

    /// <summary>
    /// Within <see cref="SweepAsync{T}(string,IReadOnlyList{T},Func{T,Task},CancellationToken,Func{T,int})"/>: deletes
    /// <paramref name="steps"/> one after the other (the order a crash must respect, e.g. links before data), concurrently
    /// with other items' deletes; waits while all slots are busy. Where the driver deletes in batches, each step's known
    /// objects join the same step of the batch's other items.
    /// </summary>
    public async Task DeleteInOrderAsync(params GcDeleteStep[] steps)
    {
        if (_batch is not null)
        {
            for (var i = 0; i < steps.Length; i++)
            {
                if (_steps.Count == i) _steps.Add([]);
                _steps[i].Add(steps[i]);
            }
            return;
        }
        await _deleteSlots.WaitAsync(CancellationToken.None);
        _deletes.Add(Task.Run(async () =>
        {
            try
            {
                foreach (var step in steps) await storage.DeleteAsync(step.Path, CancellationToken.None);
            }
            finally
            {
                _deleteSlots.Release();
            }
        }));
    }

    /// <inheritdoc cref="DeleteInOrderAsync(GcDeleteStep[])"/>
    public Task DeleteInOrderAsync(params string[] paths) => DeleteInOrderAsync(paths.Select(p => new GcDeleteStep(p)).ToArray());

    private async Task DeletesEndedAsync()
    {
        if (_batch is not null)
        {
            try
            {
                foreach (var step in _steps) await DeleteBatchedAsync(_batch, step);
            }
            finally
            {
                _steps.Clear();
            }
            return;
        }
        if (_deletes.Count == 0) return;
        try
        {
            await Task.WhenAll(_deletes);
        }
        finally
        {
            _deletes.Clear();
        }
    }

    /// <summary>One step of every item: the objects each read found, and what is below the others now.</summary>
    private async Task DeleteBatchedAsync(IBatchDeleting batch, List<GcDeleteStep> steps)
    {
        var objects = steps.Where(s => s.Objects is not null).SelectMany(s => s.Objects!).ToList();
        var unknown = steps.Where(s => s.Objects is null).Select(s => s.Path);
        await foreach (var below in ReadAhead.InOrderAsync(unknown, p => ObjectsAtOrBelowAsync(p, CancellationToken.None), CancellationToken.None, DeleteConcurrency))
            objects.AddRange(below);
        if (objects.Count > 0) await batch.DeleteObjectsAsync(objects, CancellationToken.None);
    }

    /// <summary>The objects a recursive delete of <paramref name="path"/> removes: those below it, or the object itself.</summary>
    private async Task<IReadOnlyList<string>> ObjectsAtOrBelowAsync(string path, CancellationToken ct)
    {
        var below = (await StorageSubtree.ReadAsync(storage, path, -1, ct)).Where(e => !e.IsDirectory).Select(e => e.Path).ToList();
        return below.Count > 0 || !await storage.ExistsAsync(path, ct) ? below : [path];
    }

    /// <summary>The bytes of every object at or below <paramref name="path"/>.</summary>
    public async Task<long> TreeSizeAsync(string path, CancellationToken ct) => (await TreeStateAsync(path, ct)).Bytes;

    /// <summary>The latest file time at or below <paramref name="path"/> (null when nothing is there).</summary>
    public async Task<DateTimeOffset?> TreeModifiedAsync(string path, CancellationToken ct) => (await TreeStateAsync(path, ct)).Modified;

    /// <summary>
    /// The bytes and the latest file time of every object at or below <paramref name="path"/> (0 and null when nothing
    /// is there), in one read of the subtree: a directory is the common case, an object is asked after.
    /// </summary>
    public async Task<(long Bytes, DateTimeOffset? Modified)> TreeStateAsync(string path, CancellationToken ct)
    {
        var entries = await StorageSubtree.ReadAsync(storage, path, -1, ct);
        if (entries.Count > 0) return new SubtreeView(entries).Measure(path);
        return await storage.SizeAsync(path, ct) is { } size ? (size, await storage.LastModifiedAsync(path, ct)) : (0, null);
    }
}

/// <summary>
/// One step of an item's delete (<see cref="GcRun.DeleteInOrderAsync(GcDeleteStep[])"/>): a path, an object or a
/// directory deleted with everything below it.
/// </summary>
/// <param name="Objects">The objects at or below <paramref name="Path"/> as a read under the exclusive side found them
/// (what a batched delete removes); null when none was read, so they are listed at the delete.</param>
public sealed record GcDeleteStep(string Path, IReadOnlyCollection<string>? Objects = null);
