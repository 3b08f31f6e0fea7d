using Npgsql;
using Registry.Index.Accounts;
using Registry.Index.Search;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// The index database on a PostgreSQL server, shared by every registry instance pointed at it: one pooled
/// <see cref="NpgsqlDataSource"/> for all the stores (and the pools of <see cref="PostgresCoordination"/>, made by
/// <see cref="CreatePool"/>), and the owner of the schema, which <see cref="PostgresMigrations"/> brings to its latest
/// version when the database is opened.
/// <para>
/// Npgsql hands out pooled connections without checking them, and a server that restarted leaves every idle one
/// broken (PostgreSQL ends their sessions with 57P01). So a failure that means the server is unreachable clears every
/// pool of this database, and for <see cref="SuspectWindow"/> after the last such failure each connection handed out
/// is checked with one round trip first and replaced by a new one if it is broken: the first requests after the
/// server returns find working connections in every pool, not only in the one that saw the outage.
/// </para>
/// </summary>
public sealed class PostgresIndexDatabase : IIndexDatabase, IAsyncDisposable, IDisposable
{
    /// <summary>How long after the last sign of an unreachable server pooled connections are checked before use.</summary>
    internal static readonly TimeSpan SuspectWindow = TimeSpan.FromSeconds(30);

    private readonly NpgsqlConnectionStringBuilder _settings;
    private readonly NpgsqlDataSource _dataSource;
    private readonly List<NpgsqlDataSource> _pools = [];
    private long _suspectUntil = long.MinValue;
    private readonly Lock _gate = new();
    private PostgresSearchPageCache? _pageCache;

    private PostgresIndexDatabase(NpgsqlConnectionStringBuilder settings)
    {
        _settings = new NpgsqlConnectionStringBuilder(settings.ConnectionString);
        Location = $"postgresql://{settings.Host}:{settings.Port}/{settings.Database ?? settings.Username}";
        _dataSource = CreatePool(null);
        Accounts = new PostgresAccountStore(this);
        Images = new PostgresRepositoryImages(this);
        PrivateRepositories = new PostgresPrivateRepositories(this);
        Webhooks = new PostgresRepositoryWebhooks(this);
        Hub = new PostgresHubStore(this);
        AccessTokens = new PostgresAccessTokens(this);
        RefreshTokens = new PostgresRefreshTokens(this);
        DistributionNames = new PostgresDistributionNames(this);
    }

    /// <inheritdoc />
    /// <remarks>Host, port and database; never the user or password.</remarks>
    public string Location { get; }

    /// <inheritdoc />
    public IAccountStore Accounts { get; }

    /// <inheritdoc />
    public IRepositoryImages Images { get; }

    /// <inheritdoc />
    public IPrivateRepositories PrivateRepositories { get; }

    /// <inheritdoc />
    public Webhooks.IRepositoryWebhooks Webhooks { get; }

    /// <inheritdoc />
    public Hub.IHubStore Hub { get; }
    public IAccessTokenStore AccessTokens { get; }
    public Accounts.Bearer.IRefreshTokens RefreshTokens { get; }

    /// <inheritdoc />
    public IDistributionNames DistributionNames { get; }

    /// <summary>
    /// Connects and migrates the database. A server that cannot be reached or refuses the login, and a schema
    /// newer than this registry's, throw <see cref="SearchIndexException"/>.
    /// </summary>
    public static async Task<PostgresIndexDatabase> OpenAsync(NpgsqlConnectionStringBuilder settings, CancellationToken ct)
    {
        var database = new PostgresIndexDatabase(settings);
        try
        {
            await using var connection = await database._dataSource.OpenConnectionAsync(ct);
            await PostgresMigrations.MigrateAsync(connection, database.Location, ct);
            return database;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            await database.DisposeAsync();
            throw new SearchIndexException(database.Location, SearchIndexFailure.CannotOpen,
                $"The index database '{database.Location}' cannot be opened ({e.Message}). Check that PostgreSQL " +
                "is running and that the user, password and database of sqlalchemy_index_database are right.", e);
        }
        catch
        {
            await database.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The page cache (<paramref name="cacheResults"/>) is one per database object, shared by its search indexes,
    /// and learns of other instances' writes by notification (<see cref="PostgresSearchPageCache"/>).
    /// </remarks>
    public Task<ISearchIndex> OpenSearchIndexAsync(bool cacheResults, CancellationToken ct)
    {
        PostgresSearchPageCache? cache = null;
        if (cacheResults)
        {
            lock (_gate) cache = _pageCache ??= new PostgresSearchPageCache(_settings);
        }

        return Task.FromResult<ISearchIndex>(new PostgresSearchIndex(this, cache));
    }

    /// <summary>
    /// A write to the search rows made outside the search index (a star) made <paramref name="generation"/>: this
    /// instance's page cache must not serve an older page after it (<see cref="PostgresSearchPageCache.Wrote"/>).
    /// </summary>
    internal void SearchRowsWritten(long generation)
    {
        lock (_gate) _pageCache?.Wrote(generation);
    }

    /// <summary>A pool of its own on this database (named <paramref name="applicationName"/> on the server), cleared with the others.</summary>
    internal NpgsqlDataSource CreatePool(string? applicationName)
    {
        var settings = new NpgsqlConnectionStringBuilder(_settings.ConnectionString);
        if (applicationName is not null) settings.ApplicationName = applicationName;
        var pool = NpgsqlDataSource.Create(settings);
        lock (_pools) _pools.Add(pool);
        return pool;
    }

    /// <summary>
    /// A connection from <paramref name="pool"/> (one of <see cref="CreatePool"/>'s), checked first while the server
    /// is suspect (see the class remarks). A server that cannot be reached throws <see cref="IndexUnavailableException"/>.
    /// </summary>
    internal async Task<NpgsqlConnection> OpenAsync(NpgsqlDataSource pool, CancellationToken ct)
    {
        try
        {
            var connection = await pool.OpenConnectionAsync(ct);
            if (Environment.TickCount64 >= Interlocked.Read(ref _suspectUntil)) return connection;
            try
            {
                await using var check = new NpgsqlCommand("SELECT 1", connection);
                await check.ExecuteScalarAsync(ct);
                return connection;
            }
            catch (Exception e) when (PostgresFaults.IsUnavailable(e))
            {
                // Broken, so not pooled again; the idle ones of its age go with the clear, and the next one is new.
                await connection.DisposeAsync();
                ClearPools();
                return await pool.OpenConnectionAsync(ct);
            }
        }
        catch (Exception e) when (PostgresFaults.IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>
    /// What a failure that means the server is unreachable surfaces as (a 503 with Retry-After): every pool is cleared,
    /// so connections to a server that went away are not handed out again once it is back, and the server is suspect.
    /// </summary>
    internal IndexUnavailableException Unavailable(Exception e)
    {
        ClearPools();
        Interlocked.Exchange(ref _suspectUntil, Environment.TickCount64 + (long)SuspectWindow.TotalMilliseconds);
        return new IndexUnavailableException(Location, $"The index database '{Location}' is unavailable: {e.Message}", e);
    }

    /// <summary>Runs <paramref name="work"/> on a pooled connection; a server that cannot be reached (down, restarting, the
    /// connection lost mid-statement) surfaces as <see cref="IndexUnavailableException"/>.</summary>
    internal async Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken ct)
    {
        await using var connection = await OpenAsync(_dataSource, ct);
        try
        {
            return await work(connection);
        }
        catch (Exception e) when (PostgresFaults.IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    /// <inheritdoc />
    public Task PingAsync(CancellationToken ct) =>
        RunAsync(async connection =>
        {
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(ct);
        }, ct);

    /// <inheritdoc cref="RunAsync{T}"/>
    internal Task RunAsync(Func<NpgsqlConnection, Task> work, CancellationToken ct) =>
        RunAsync(async connection =>
        {
            await work(connection);
            return true;
        }, ct);

    public async ValueTask DisposeAsync()
    {
        _pageCache?.Dispose();
        foreach (var pool in TakePools()) await pool.DisposeAsync();
    }

    public void Dispose()
    {
        _pageCache?.Dispose();
        foreach (var pool in TakePools()) pool.Dispose();
    }

    /// <summary>Disposes a pool of <see cref="CreatePool"/> before the database (its owner's shutdown).</summary>
    internal ValueTask DisposePoolAsync(NpgsqlDataSource pool)
    {
        lock (_pools) _pools.Remove(pool);
        return pool.DisposeAsync();
    }

    private void ClearPools()
    {
        lock (_pools)
            foreach (var pool in _pools) pool.Clear();
    }

    private List<NpgsqlDataSource> TakePools()
    {
        lock (_pools)
        {
            var pools = _pools.ToList();
            _pools.Clear();
            return pools;
        }
    }
}
