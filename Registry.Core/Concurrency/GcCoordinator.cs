using Registry.Core.Distribution;

namespace Registry.Core.Concurrency;

/// <summary>
/// Lets garbage collection run while the registry serves pushes (docs/garbage-collection.md, 'Guarantees' G2, G3), within
/// one process: the default <see cref="IGcCoordinator"/>, one per process (a singleton). Several instances on one
/// storage need the cluster backend (PostgreSQL), which keeps this protocol and these rules.
/// <para>
/// Writers that check that something exists and then write a reference to it (a V1 image json naming its parent,
/// a tag, a v2 link, a blob commit, a manifest PUT) do the check and the write inside <see cref="EnterWriteAsync"/>
/// (the shared side) and touch what they reference. While a collection runs, touched ids and digests are kept by
/// the sweep. The sweep deletes in batches inside <see cref="EnterSweepAsync"/> (the exclusive side) and re-checks
/// <see cref="IsImageTouched"/> / <see cref="IsDigestTouched"/> there, so a writer's check and its write never
/// straddle a delete: either the delete comes first and the writer's check fails cleanly, or the writer's touch
/// comes first and the sweep keeps the object.
/// </para>
/// <para>
/// Lock order: take the shared side last (after any <see cref="IKeyedLock"/>) and hold it only over small writes,
/// never over a streamed body and never while waiting for another lock; a sweeper waiting for the exclusive side
/// blocks new writers, so a writer that waits for something else while holding the shared side could deadlock.
/// Across instances the same holds: a keyed lock before the shared side, never the other way round, and the
/// sweep takes no keyed lock.
/// </para>
/// </summary>
public sealed class GcCoordinator : IGcCoordinator
{
    // A sweeper holds the turnstile for its whole batch; writers pass through it only to register, so a waiting
    // sweeper is not starved by a steady stream of writers.
    private readonly SemaphoreSlim _turnstile = new(1, 1);
    private readonly object _gate = new();
    private int _writers;
    private TaskCompletionSource? _drained;
    private HashSet<string>? _touched;

    /// <inheritdoc />
    public bool IsCollecting
    {
        get
        {
            lock (_gate) return _touched is not null;
        }
    }

    /// <summary>
    /// The shared side: hold the result (dispose it) around a check-then-write. Cheap when no collection runs
    /// (one uncontended semaphore pass).
    /// </summary>
    public async ValueTask<IAsyncDisposable> EnterWriteAsync(CancellationToken ct)
    {
        await _turnstile.WaitAsync(ct).ConfigureAwait(false);
        lock (_gate) _writers++;
        _turnstile.Release();
        return new Releaser(ExitWrite);
    }

    /// <summary>
    /// The exclusive side: waits until no writer is inside, and keeps new ones out until disposed. Used by the
    /// sweep per batch and to start a collection.
    /// </summary>
    public async Task<IAsyncDisposable> EnterSweepAsync(CancellationToken ct)
    {
        await _turnstile.WaitAsync(ct).ConfigureAwait(false);
        Task drained;
        lock (_gate)
        {
            if (_writers == 0) drained = Task.CompletedTask;
            else
            {
                _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                drained = _drained.Task;
            }
        }
        try
        {
            await drained.WaitAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            _turnstile.Release();
            throw;
        }
        return new Releaser(() => _turnstile.Release());
    }

    /// <summary>
    /// Starts recording touches. Writes already in flight finish first, so everything written before the mark
    /// phase reads storage is visible to it and everything after is touched. Null when a collection already runs
    /// in this process. Dispose the result when the sweep is over.
    /// </summary>
    public async Task<IAsyncDisposable?> BeginCollectionAsync(CancellationToken ct)
    {
        await using (await EnterSweepAsync(ct).ConfigureAwait(false))
        {
            lock (_gate)
            {
                if (_touched is not null) return null;
                _touched = new HashSet<string>(StringComparer.Ordinal);
            }
        }
        return new Releaser(() =>
        {
            lock (_gate) _touched = null;
        });
    }

    /// <summary>Records V1 image ids a writer or reader relies on (an image, its ancestry); no-op when no collection runs.</summary>
    public void TouchImages(IEnumerable<string> imageIds)
    {
        // Without a collection there is nothing to record: reads and writes on the hot path skip the lock. A touch that
        // races a collection's start is ordered before it, as if it had happened just before (the lock gives no more).
        if (Volatile.Read(ref _touched) is null) return;
        lock (_gate)
        {
            if (_touched is null) return;
            foreach (var id in imageIds) _touched.Add(ImageKey(id));
        }
    }

    /// <summary>Records v2 digests (a committed or linked blob, a manifest and its references); no-op when no collection runs.</summary>
    public void TouchDigests(IEnumerable<Digest> digests)
    {
        if (Volatile.Read(ref _touched) is null) return;
        lock (_gate)
        {
            if (_touched is null) return;
            foreach (var d in digests) _touched.Add(DigestKey(d));
        }
    }

    public bool IsImageTouched(string imageId) => Contains(ImageKey(imageId));

    public bool IsDigestTouched(Digest digest) => Contains(DigestKey(digest));

    private bool Contains(string key)
    {
        lock (_gate) return _touched?.Contains(key) == true;
    }

    private void ExitWrite()
    {
        TaskCompletionSource? drained = null;
        lock (_gate)
        {
            if (--_writers == 0 && _drained is not null)
            {
                drained = _drained;
                _drained = null;
            }
        }
        drained?.TrySetResult();
    }

    // V1 ids are bare hex and v2 digests carry their algorithm; the prefixes keep the two spaces apart anyway.
    // A cluster backend stores the same keys.
    public static string ImageKey(string id) => "image:" + id;

    public static string DigestKey(Digest d) => "blob:" + d;

    private sealed class Releaser(Action release) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) release();
            return ValueTask.CompletedTask;
        }
    }
}
