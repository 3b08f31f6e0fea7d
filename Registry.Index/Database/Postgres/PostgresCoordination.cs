using Dapper;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Registry.Core.Concurrency;
using Registry.Core.Configuration;
using Registry.Index.Accounts;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// Coordination of several registry instances through the PostgreSQL index database they share: keyed locks and
/// the garbage collector's two sides are session advisory locks (PostgreSQL manual, "Advisory Locks", section
/// 13.3.5) held on a connection for as long as the lock is held, so a lock of an instance that dies or loses its
/// connection is released by the server; the running collections, their touched ids and failed logins are tables.
/// <para>
/// Lock connections come from pools of their own, one for keyed locks and one for the collector's sides, apart
/// from the pool of queries: a request holds a keyed-lock connection while it waits for a shared-side one and
/// queries while it holds both, never the other way round, so a full pool cannot wait on itself.
/// </para>
/// </summary>
public sealed class PostgresCoordination : IAsyncDisposable
{
    private readonly NpgsqlDataSource _keyedLocks;
    private readonly NpgsqlDataSource _gcLocks;

    public PostgresCoordination(PostgresIndexDatabase database, AuthSettings auth)
    {
        Database = database;
        _keyedLocks = database.CreatePool("registry keyed locks");
        _gcLocks = database.CreatePool("registry gc");
        KeyedLock = new PostgresKeyedLock(this);
        Gc = new PostgresGcCoordinator(this);
        LoginThrottle = new PostgresLoginThrottle(database, auth);
    }

    internal PostgresIndexDatabase Database { get; }

    public IKeyedLock KeyedLock { get; }

    public IGcCoordinator Gc { get; }

    public ILoginThrottle LoginThrottle { get; }

    /// <summary>Registers the cluster backends over the in-process ones that <c>AddRegistryCore</c> added.</summary>
    public static void Register(IServiceCollection services, PostgresIndexDatabase database, AuthSettings auth)
    {
        // Created by the container (through its backends), so that it disposes the pools at shutdown.
        services.AddSingleton(_ => new PostgresCoordination(database, auth));
        services.AddSingleton(sp => sp.GetRequiredService<PostgresCoordination>().KeyedLock);
        services.AddSingleton(sp => sp.GetRequiredService<PostgresCoordination>().Gc);
        services.AddSingleton(sp => sp.GetRequiredService<PostgresCoordination>().LoginThrottle);
    }

    /// <summary>A 64-bit advisory lock key for a keyed-lock name (SHA-256, so that keys spread and do not depend on .NET's string hash).</summary>
    internal static long KeyOf(string name) =>
        BinaryPrimitives.ReadInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes("registry-lock\n" + name)));

    internal Task<NpgsqlConnection> OpenKeyedLockConnectionAsync(CancellationToken ct) => Database.OpenAsync(_keyedLocks, ct);

    internal Task<NpgsqlConnection> OpenGcConnectionAsync(CancellationToken ct) => Database.OpenAsync(_gcLocks, ct);

    /// <summary>
    /// Runs <paramref name="work"/> on a connection that holds (or is taking) a session lock. On any failure the
    /// connection is closed for good, never pooled: it might hold the lock, and the server drops a closed session's
    /// locks. A server that cannot be reached surfaces as <see cref="IndexUnavailableException"/> (a 503).
    /// </summary>
    internal async Task<T> OnHeldAsync<T>(NpgsqlConnection connection, Func<NpgsqlConnection, Task<T>> work)
    {
        try
        {
            return await work(connection);
        }
        catch (Exception e)
        {
            await AbandonAsync(connection);
            if (PostgresFaults.IsUnavailable(e)) throw Unavailable(e);
            throw;
        }
    }

    /// <summary>
    /// Gives up a lock connection after a failure: a session that still works drops every advisory lock it holds
    /// (a failed statement may have skipped the unlock that followed it) before it goes back to the pool; a broken
    /// one is closed, and the server drops its locks with it.
    /// </summary>
    internal static async ValueTask AbandonAsync(NpgsqlConnection connection)
    {
        try
        {
            if (connection.FullState == System.Data.ConnectionState.Open)
                await connection.ExecuteAsync("SELECT pg_advisory_unlock_all()");
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            // Broken: not pooled again, and the server ends the session.
        }
        await connection.DisposeAsync();
    }

    /// <summary>What a lock connection's failure to reach the server surfaces as: the index database's 503.</summary>
    internal IndexUnavailableException Unavailable(Exception e) => Database.Unavailable(e);

    public async ValueTask DisposeAsync()
    {
        await Database.DisposePoolAsync(_keyedLocks);
        await Database.DisposePoolAsync(_gcLocks);
    }
}
