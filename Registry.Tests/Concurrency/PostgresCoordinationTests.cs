using Dapper;
using FluentAssertions;
using Npgsql;
using NUnit.Framework;
using Registry.Index.Database;
using Registry.Index.Database.Postgres;
using Registry.Tests.Support;

namespace Registry.Tests.Concurrency;

/// <summary>
/// The PostgreSQL backend: two instances are two opened index databases on one PostgreSQL database, as two registry
/// processes are. Beyond the contract: a lost session releases its locks, a dead instance's collection neither blocks
/// nor lingers, a collection that lost its heartbeat stops, and a server that is down is the index's 503.
/// </summary>
public sealed class PostgresCoordinationTests : CoordinationContract
{
    private readonly List<IAsyncDisposable> _owned = [];
    private string _connectionString = "";

    protected override async Task<(Instance A, Instance B)> CreateAsync()
    {
        var server = await PostgresServer.SharedAsync();
        _connectionString = server.ConnectionString(await server.CreateDatabaseAsync("coordination"));
        return (await OpenAsync(_connectionString), await OpenAsync(_connectionString));
    }

    [TearDown]
    public async Task DisposeInstances()
    {
        foreach (var owned in Enumerable.Reverse(_owned)) await owned.DisposeAsync();
        _owned.Clear();
    }

    [Test]
    public async Task A_keyed_lock_whose_session_dies_is_released_by_the_server()
    {
        var (a, b) = await CreateAsync();
        var held = await a.Locks.AcquireAsync("team/app", CancellationToken.None);
        var waiting = b.Locks.AcquireAsync("team/app", CancellationToken.None);
        (await Task.WhenAny(waiting, Task.Delay(Short))).Should().NotBe(waiting);

        // What the server sees when the holder's instance is killed: its session ends.
        await TerminateSessionsAsync("registry keyed locks", holdingLocks: true, exceptWaiting: true);

        await (await waiting.WaitAsync(Long)).DisposeAsync();
        await held.DisposeAsync(); // the dead session's release is a no-op, not an error
        await (await a.Locks.AcquireAsync("team/app", CancellationToken.None).WaitAsync(Long)).DisposeAsync();
    }

    [Test]
    public async Task A_dead_instances_collection_blocks_nothing_and_the_next_collection_removes_it()
    {
        var (a, b) = await CreateAsync();
        var dead = await a.Gc.BeginCollectionAsync(CancellationToken.None);
        await ExecuteAsync("UPDATE registry_gc_runs SET heartbeat = now() - interval '1 hour'");

        await using (await b.Gc.EnterWriteAsync(CancellationToken.None).AsTask().WaitAsync(Long)) b.Gc.TouchImage("aa");
        (await CountAsync("SELECT count(*) FROM registry_gc_touched")).Should().Be(0, "nobody records for a stale run");

        await using (var collection = await b.Gc.BeginCollectionAsync(CancellationToken.None))
        {
            collection.Should().NotBeNull();
            (await CountAsync("SELECT count(*) FROM registry_gc_runs")).Should().Be(1, "the stale run was deleted");
        }
        (await CountAsync("SELECT count(*) FROM registry_gc_runs")).Should().Be(0);

        var sweep = () => a.Gc.EnterSweepAsync(CancellationToken.None);
        (await sweep.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("without a heartbeat");
        await dead!.DisposeAsync();
    }

    [Test]
    public async Task A_stopped_server_is_the_index_databases_503_for_locks_and_writers()
    {
        await using var server = await PostgresServer.StartDedicatedAsync();
        var instance = await OpenAsync(server.ConnectionString(await server.CreateDatabaseAsync("down")));
        await (await instance.Locks.AcquireAsync("warm", CancellationToken.None)).DisposeAsync();
        await (await instance.Gc.EnterWriteAsync(CancellationToken.None)).DisposeAsync();

        await server.StopAsync();

        var lockAct = () => instance.Locks.AcquireAsync("team/app", CancellationToken.None);
        await lockAct.Should().ThrowAsync<IndexUnavailableException>();
        var writeAct = () => instance.Gc.EnterWriteAsync(CancellationToken.None).AsTask();
        await writeAct.Should().ThrowAsync<IndexUnavailableException>();
        var throttleAct = () => instance.Throttle.BlockedForAsync(null, CancellationToken.None).AsTask();
        await throttleAct.Should().ThrowAsync<IndexUnavailableException>();

        await server.RestartAsync();
        await (await instance.Locks.AcquireAsync("team/app", CancellationToken.None).WaitAsync(Long)).DisposeAsync();
    }

    private async Task<Instance> OpenAsync(string connectionString)
    {
        var database = await PostgresIndexDatabase.OpenAsync(new NpgsqlConnectionStringBuilder(connectionString), CancellationToken.None);
        var coordination = new PostgresCoordination(database, Auth);
        _owned.Add(database);
        _owned.Add(coordination);
        return new Instance(coordination.KeyedLock, coordination.Gc, coordination.LoginThrottle);
    }

    private async Task TerminateSessionsAsync(string applicationName, bool holdingLocks, bool exceptWaiting)
    {
        await ExecuteAsync("""
            SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a
            WHERE a.application_name = @applicationName AND a.datname = current_database()
              AND (NOT @holdingLocks OR EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted))
              AND (NOT @exceptWaiting OR NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted))
            """, new { applicationName, holdingLocks, exceptWaiting });
    }

    private async Task ExecuteAsync(string sql, object? args = null)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.ExecuteAsync(sql, args);
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        return await connection.ExecuteScalarAsync<long>(sql);
    }
}
