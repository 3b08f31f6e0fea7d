using Npgsql;
using Registry.Index.Accounts;
using Registry.Index.Search;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// The index database on a PostgreSQL server, shared by every registry instance pointed at it: one pooled
/// <see cref="NpgsqlDataSource"/> for all the stores, and the owner of the schema, which
/// <see cref="PostgresMigrations"/> brings to its latest version when the database is opened.
/// </summary>
public sealed class PostgresIndexDatabase : IIndexDatabase, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly Lock _gate = new();
    private PostgresSearchPageCache? _pageCache;

    private PostgresIndexDatabase(NpgsqlConnectionStringBuilder settings)
    {
        Settings = new NpgsqlConnectionStringBuilder(settings.ConnectionString);
        Location = $"postgresql://{settings.Host}:{settings.Port}/{settings.Database ?? settings.Username}";
        _dataSource = NpgsqlDataSource.Create(settings);
        Accounts = new PostgresAccountStore(this);
        Images = new PostgresRepositoryImages(this);
        PrivateRepositories = new PostgresPrivateRepositories(this);
    }

    /// <inheritdoc />
    /// <remarks>Host, port and database; never the user or password.</remarks>
    public string Location { get; }

    /// <summary>The connection settings, for the pools of <see cref="PostgresCoordination"/>.</summary>
    internal NpgsqlConnectionStringBuilder Settings { get; }

    /// <inheritdoc />
    public IAccountStore Accounts { get; }

    /// <inheritdoc />
    public IRepositoryImages Images { get; }

    /// <inheritdoc />
    public IPrivateRepositories PrivateRepositories { get; }

    /// <summary>
    /// Connects and migrates the database. A server that cannot be reached or refuses the login, and a schema
    /// newer than this registry's, throw <see cref="SearchIndexException"/>.
    /// </summary>
    public static async Task<PostgresIndexDatabase> OpenAsync(NpgsqlConnectionStringBuilder settings, CancellationToken ct)
    {
        var database = new PostgresIndexDatabase(settings);
        try
        {
            await using var connection = await database.OpenConnectionAsync(ct);
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
            lock (_gate) cache = _pageCache ??= new PostgresSearchPageCache(Settings);
        }

        return Task.FromResult<ISearchIndex>(new PostgresSearchIndex(this, cache));
    }

    internal async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken ct) => await _dataSource.OpenConnectionAsync(ct);

    /// <summary>
    /// Runs <paramref name="work"/> on a pooled connection. A server that cannot be reached (down, restarting, the
    /// connection lost mid-statement) surfaces as <see cref="IndexUnavailableException"/>; the pool is cleared then,
    /// so connections to a server that went away are not handed out again once it is back.
    /// </summary>
    internal async Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken ct)
    {
        try
        {
            await using var connection = await OpenConnectionAsync(ct);
            return await work(connection);
        }
        catch (Exception e) when (PostgresFaults.IsUnavailable(e))
        {
            _dataSource.Clear();
            throw new IndexUnavailableException(Location, $"The index database '{Location}' is unavailable: {e.Message}", e);
        }
    }

    /// <inheritdoc cref="RunAsync{T}"/>
    internal Task RunAsync(Func<NpgsqlConnection, Task> work, CancellationToken ct) =>
        RunAsync(async connection =>
        {
            await work(connection);
            return true;
        }, ct);

    public ValueTask DisposeAsync()
    {
        _pageCache?.Dispose();
        return _dataSource.DisposeAsync();
    }

    public void Dispose()
    {
        _pageCache?.Dispose();
        _dataSource.Dispose();
    }
}
