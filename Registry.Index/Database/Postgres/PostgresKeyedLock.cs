using Dapper;
using Npgsql;
using Registry.Core.Concurrency;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// A keyed lock across instances: the in-process <see cref="KeyedLock"/> first, so that one instance takes one
/// server lock per key however many of its requests wait for it, then a session advisory lock
/// (<c>pg_advisory_lock</c>, PostgreSQL manual, "Advisory Locks") on a connection held until release.
/// <para>
/// A connection lost while the lock is held releases it on the server, and this holder does not learn of it before
/// its release: the writes under a keyed lock are short and each leaves storage consistent (the file driver's
/// temp file and rename), so the worst case is two writers' files interleaving as without the lock, never a torn file.
/// </para>
/// </summary>
internal sealed class PostgresKeyedLock(PostgresCoordination coordination) : IKeyedLock
{
    private readonly KeyedLock _local = new();

    public async Task<IAsyncDisposable> AcquireAsync(string key, CancellationToken ct)
    {
        var local = await _local.AcquireAsync(key, ct);
        try
        {
            var lockKey = PostgresCoordination.KeyOf(key);
            var connection = await coordination.OpenKeyedLockConnectionAsync(ct);
            await coordination.OnHeldAsync(connection, c => c.ExecuteAsync(new CommandDefinition(
                "SELECT pg_advisory_lock(@lockKey)", new { lockKey }, cancellationToken: ct)));
            return new Held(connection, lockKey, local);
        }
        catch
        {
            await local.DisposeAsync();
            throw;
        }
    }

    private sealed class Held(NpgsqlConnection connection, long lockKey, IAsyncDisposable local) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            try
            {
                // The server lock before the local one: a waiter of this instance then finds the key free on the server.
                await connection.ExecuteAsync("SELECT pg_advisory_unlock(@lockKey)", new { lockKey });
                await connection.DisposeAsync();
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                // The writes are done; a lost connection released the lock with the session, so the request keeps its result.
                await PostgresCoordination.AbandonAsync(connection);
            }
            finally
            {
                await local.DisposeAsync();
            }
        }
    }
}
