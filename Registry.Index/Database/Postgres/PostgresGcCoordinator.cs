using Dapper;
using Npgsql;
using Registry.Core.Concurrency;
using Registry.Core.Distribution;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// <see cref="GcCoordinator"/>'s protocol across every instance that shares the index database (its lock order rules
/// hold unchanged). The shared and exclusive sides are <c>pg_advisory_lock_shared</c> / <c>pg_advisory_lock</c> on one
/// well-known key, each held on a connection of its own (PostgreSQL manual, "Advisory Locks"); PostgreSQL queues a new
/// shared request behind a waiting exclusive one, as the in-process turnstile does, so a sweep is not starved.
/// <list type="bullet">
/// <item>A running collection is a row of <c>registry_gc_runs</c> whose heartbeat is fresh; its instance renews it every
/// few seconds. A writer learns whether one runs in the round trip that takes the shared side.</item>
/// <item>Touches are buffered in this process and inserted into <c>registry_gc_touched</c> when a writer leaves the
/// shared side, before the shared lock goes, so the next sweep batch (exclusive) sees every touch of the writes before it.</item>
/// <item>Each sweep batch, under the exclusive side, renews the heartbeat (a run whose heartbeat went stale stops
/// rather than sweep without protection) and reads the touches added since its last batch.</item>
/// <item>A dead instance's run stops counting once its heartbeat is stale (writers no longer record for it) and its
/// rows are deleted by the next collection; its locks went with its sessions.</item>
/// </list>
/// </summary>
internal sealed class PostgresGcCoordinator(PostgresCoordination coordination) : IGcCoordinator
{
    /// <summary>The advisory lock key of the collector's sides: "gc-sweep" in ASCII.</summary>
    internal const long SweepLockKey = 0x67632d7377656570;

    /// <summary>How often a running collection renews its heartbeat.</summary>
    internal static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);

    /// <summary>A run whose heartbeat is older is a dead instance's: writers stop recording for it.</summary>
    internal static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(60);

    // Touches that wait for the next flush; bounded so that read touches without writes cannot grow it without end
    // (a read touch only spares a client a retry; a writer's touches are flushed before it leaves the shared side).
    private const int MaxPending = 100_000;

    private readonly object _gate = new();
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private int _writersSeeingRun;
    private long _runSeenAt = long.MinValue / 2; // "never", without overflow in the subtraction of Touch
    private Collection? _collection;
    private int _starting;

    public bool IsCollecting => Volatile.Read(ref _collection) is not null;

    public async ValueTask<IAsyncDisposable> EnterWriteAsync(CancellationToken ct)
    {
        var connection = await coordination.OpenGcConnectionAsync(ct);
        // Two statements in one round trip; the second takes its snapshot after the lock is granted (READ COMMITTED),
        // so it sees a collection that began while this writer waited.
        var running = await coordination.OnHeldAsync(connection, async c =>
        {
            using var results = await c.QueryMultipleAsync(new CommandDefinition("""
                SELECT 1 FROM pg_advisory_lock_shared(@SweepLockKey);
                SELECT EXISTS (SELECT 1 FROM registry_gc_runs WHERE heartbeat > now() - @StaleAfter);
                """, new { SweepLockKey, StaleAfter }, cancellationToken: ct));
            await results.ReadAsync<int>();
            return await results.ReadSingleAsync<bool>();
        });
        if (running)
        {
            Interlocked.Increment(ref _writersSeeingRun);
            Volatile.Write(ref _runSeenAt, Environment.TickCount64);
        }
        return new WriteSide(this, connection, running);
    }

    public async Task<IAsyncDisposable> EnterSweepAsync(CancellationToken ct)
    {
        var connection = await coordination.OpenGcConnectionAsync(ct);
        await coordination.OnHeldAsync(connection, c => c.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_lock(@SweepLockKey)", new { SweepLockKey }, cancellationToken: ct)));
        var sweep = new SweepSide(connection);
        try
        {
            if (Volatile.Read(ref _collection) is { } collection) await collection.RefreshAsync(this, connection, ct);
            return sweep;
        }
        catch
        {
            await sweep.DisposeAsync();
            throw;
        }
    }

    public async Task<IAsyncDisposable?> BeginCollectionAsync(CancellationToken ct)
    {
        if (Interlocked.CompareExchange(ref _starting, 1, 0) != 0) return null;
        try
        {
            long runId;
            // Under the exclusive side: the writes in flight on every instance finish first, and every later writer sees the run.
            await using (var sweep = (SweepSide)await EnterSweepAsync(ct))
            {
                runId = await coordination.OnHeldAsync(sweep.Connection, c => c.ExecuteScalarAsync<long>(new CommandDefinition("""
                    DELETE FROM registry_gc_runs WHERE heartbeat <= now() - @StaleAfter;
                    DELETE FROM registry_gc_touched t WHERE NOT EXISTS (SELECT 1 FROM registry_gc_runs r WHERE r.run_id = t.run_id);
                    INSERT INTO registry_gc_runs DEFAULT VALUES RETURNING run_id;
                    """, new { StaleAfter }, cancellationToken: ct)));
            }
            var collection = new Collection(runId, coordination);
            Volatile.Write(ref _collection, collection);
            return new Releaser(async () =>
            {
                Volatile.Write(ref _collection, null);
                await collection.EndAsync();
                Volatile.Write(ref _starting, 0);
            });
        }
        catch
        {
            Volatile.Write(ref _starting, 0);
            throw;
        }
    }

    public void TouchImages(IEnumerable<string> imageIds) => Touch(imageIds.Select(GcCoordinator.ImageKey));

    public void TouchDigests(IEnumerable<Digest> digests) => Touch(digests.Select(GcCoordinator.DigestKey));

    public bool IsImageTouched(string imageId) => IsTouched(GcCoordinator.ImageKey(imageId));

    public bool IsDigestTouched(Digest digest) => IsTouched(GcCoordinator.DigestKey(digest));

    private void Touch(IEnumerable<string> keys)
    {
        // Without a run seen by a writer inside, a recent one, or this process's own, there is nothing to record.
        if (Volatile.Read(ref _writersSeeingRun) == 0 && Volatile.Read(ref _collection) is null
            && Environment.TickCount64 - Volatile.Read(ref _runSeenAt) > StaleAfter.TotalMilliseconds) return;
        lock (_gate)
            foreach (var key in keys)
                if (_pending.Count < MaxPending || _writersSeeingRun > 0) _pending.Add(key);
    }

    private bool IsTouched(string key)
    {
        if (Volatile.Read(ref _collection) is not { } collection) return false;
        lock (_gate) return _pending.Contains(key) || collection.Touched.Contains(key);
    }

    private string[] TakePending()
    {
        lock (_gate)
        {
            if (_pending.Count == 0) return [];
            var keys = _pending.ToArray();
            _pending.Clear();
            return keys;
        }
    }

    private void Requeue(string[] keys)
    {
        lock (_gate) _pending.UnionWith(keys);
    }

    /// <summary>Inserts buffered touches for every live run, on a connection that holds one of the two sides.</summary>
    private static string FlushSql => """
        INSERT INTO registry_gc_touched (run_id, key)
        SELECT r.run_id, k FROM registry_gc_runs r, unnest(@keys) AS k WHERE r.heartbeat > now() - @StaleAfter
        ON CONFLICT DO NOTHING;
        """;

    private sealed class WriteSide(PostgresGcCoordinator owner, NpgsqlConnection connection, bool sawRun) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            var keys = owner.TakePending();
            try
            {
                // The touches before the shared lock goes, in one round trip: a sweep batch that follows reads them.
                await connection.ExecuteAsync(
                    (keys.Length > 0 ? FlushSql : "") + "SELECT pg_advisory_unlock_shared(@SweepLockKey);",
                    new { keys, StaleAfter, SweepLockKey });
                await connection.DisposeAsync();
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                // The writes are done. A run that outlives the outage reads these touches at its next batch; the shared
                // lock went with the closed session.
                owner.Requeue(keys);
                await PostgresCoordination.AbandonAsync(connection);
            }
            finally
            {
                if (sawRun) Interlocked.Decrement(ref owner._writersSeeingRun);
            }
        }
    }

    private sealed class SweepSide(NpgsqlConnection connection) : IAsyncDisposable
    {
        private int _disposed;

        public NpgsqlConnection Connection => connection;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            try
            {
                await connection.ExecuteAsync("SELECT pg_advisory_unlock(@SweepLockKey)", new { SweepLockKey });
                await connection.DisposeAsync();
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                await PostgresCoordination.AbandonAsync(connection);
            }
        }
    }

    /// <summary>This process's run: its id, the touches read so far, and the heartbeat that keeps it alive.</summary>
    private sealed class Collection
    {
        private readonly long _runId;
        private readonly PostgresCoordination _coordination;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _heartbeat;
        private long _lastSeq;

        public Collection(long runId, PostgresCoordination coordination)
        {
            _runId = runId;
            _coordination = coordination;
            _heartbeat = BeatAsync(_stop.Token);
        }

        /// <summary>Guarded by the coordinator's gate.</summary>
        public HashSet<string> Touched { get; } = new(StringComparer.Ordinal);

        /// <summary>Under the exclusive side: flushes this process's touches, renews the heartbeat, reads new touches.</summary>
        public async Task RefreshAsync(PostgresGcCoordinator owner, NpgsqlConnection connection, CancellationToken ct)
        {
            var keys = owner.TakePending();
            try
            {
                var (alive, touched) = await _coordination.OnHeldAsync(connection, async c =>
                {
                    using var results = await c.QueryMultipleAsync(new CommandDefinition(
                        (keys.Length > 0 ? FlushSql : "") + """
                        UPDATE registry_gc_runs SET heartbeat = now() WHERE run_id = @_runId AND heartbeat > now() - @StaleAfter RETURNING 1;
                        SELECT seq, key FROM registry_gc_touched WHERE run_id = @_runId AND seq > @_lastSeq ORDER BY seq;
                        """, new { keys, StaleAfter, _runId, _lastSeq }, cancellationToken: ct));
                    var renewed = (await results.ReadAsync<int>()).Any();
                    return (renewed, (await results.ReadAsync<(long Seq, string Key)>()).ToList());
                });
                if (!alive)
                    throw new InvalidOperationException(
                        $"garbage collection run {_runId} went {StaleAfter.TotalSeconds:0} s without a heartbeat; it stops rather than sweep without the touches of other instances");
                lock (owner._gate)
                    foreach (var (_, key) in touched)
                        Touched.Add(key);
                if (touched.Count > 0) _lastSeq = touched[^1].Seq;
            }
            catch
            {
                owner.Requeue(keys);
                throw;
            }
        }

        public async Task EndAsync()
        {
            await _stop.CancelAsync();
            await _heartbeat;
            try
            {
                await _coordination.Database.RunAsync(c => c.ExecuteAsync(
                    "DELETE FROM registry_gc_runs WHERE run_id = @_runId; DELETE FROM registry_gc_touched WHERE run_id = @_runId",
                    new { _runId }), CancellationToken.None);
            }
            catch (IndexUnavailableException)
            {
                // The row goes stale and the next collection deletes it and its touches.
            }
            _stop.Dispose();
        }

        private async Task BeatAsync(CancellationToken ct)
        {
            using var timer = new PeriodicTimer(HeartbeatInterval);
            try
            {
                while (await timer.WaitForNextTickAsync(ct))
                {
                    try
                    {
                        await _coordination.Database.RunAsync(c => c.ExecuteAsync(new CommandDefinition(
                            "UPDATE registry_gc_runs SET heartbeat = now() WHERE run_id = @_runId AND heartbeat > now() - @StaleAfter",
                            new { _runId, StaleAfter }, cancellationToken: ct)), ct);
                    }
                    catch (IndexUnavailableException)
                    {
                        // Tried again next tick; a sweep batch notices a heartbeat that went stale meanwhile.
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private sealed class Releaser(Func<Task> release) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) await release();
        }
    }
}
