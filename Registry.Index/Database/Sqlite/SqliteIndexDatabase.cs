using Dapper;
using Microsoft.Data.Sqlite;
using Registry.Index.Accounts;
using Registry.Index.Search;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// The index database in one SQLite file (WAL, busy timeout): the connection factory of the small stores
/// (accounts, image membership, private repositories) and the owner of the file's schema, which
/// <see cref="SqliteMigrations"/> brings to its latest version when the file is opened. The search index
/// (<see cref="SqliteSearchIndex"/>) keeps its own tuned connections to the same file.
/// </summary>
public sealed class SqliteIndexDatabase : IIndexDatabase
{
    internal const double BusyTimeoutMilliseconds = 10_000;

    internal static readonly TimeSpan BusyTimeout = TimeSpan.FromMilliseconds(BusyTimeoutMilliseconds);

    private readonly string _connectionString;

    private SqliteIndexDatabase(string filePath)
    {
        FilePath = filePath;
        _connectionString = ConnectionString(filePath);
        Accounts = new SqliteAccountStore(this);
        Images = new SqliteRepositoryImages(this);
        PrivateRepositories = new SqlitePrivateRepositories(this);
        Webhooks = new SqliteRepositoryWebhooks(this);
        Hub = new SqliteHubStore(this);
        AccessTokens = new SqliteAccessTokens(this);
        RefreshTokens = new SqliteRefreshTokens(this);
        DistributionNames = new SqliteDistributionNames(this);
    }

    /// <summary>The database file.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public string Location => FilePath;

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
    /// Opens (creating when absent, with its parent directory) and migrates the database. A corrupt file,
    /// a newer schema or a lock held beyond the busy timeout throws <see cref="SearchIndexException"/>.
    /// </summary>
    public static async Task<SqliteIndexDatabase> OpenAsync(string filePath, CancellationToken ct)
    {
        var fullPath = Path.GetFullPath(filePath);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SearchIndexException(fullPath, SearchIndexFailure.CannotOpen,
                $"Cannot create the directory of the search index database '{fullPath}': {e.Message}", e);
        }

        var database = new SqliteIndexDatabase(fullPath);
        await database.GuardAsync(async () =>
        {
            await using var connection = await database.OpenConnectionAsync(ct);
            // WAL is a property of the file, so setting it once here covers every later connection.
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL", cancellationToken: ct));
            await SqliteMigrations.MigrateAsync(connection, fullPath, ct);
            return true;
        });
        return database;
    }

    /// <summary>
    /// For the <c>reindex</c> verb: opens the database, and when it is corrupt or of a newer schema moves
    /// it (with its -wal and -shm files) aside as <c>&lt;file&gt;.corrupt-&lt;UTC timestamp&gt;</c> and
    /// creates a fresh, empty one. A database that is merely locked is left alone and the exception propagates.
    /// </summary>
    public static async Task<SqliteIndexDatabase> RecreateAsync(string filePath, CancellationToken ct)
    {
        var fullPath = Path.GetFullPath(filePath);
        try
        {
            return await OpenAsync(fullPath, ct);
        }
        catch (SearchIndexException e) when (e.Failure is SearchIndexFailure.Corrupt or SearchIndexFailure.NewerVersion)
        {
            // Pooled connections still hold the old file open.
            foreach (var connectionString in new[] { ConnectionString(fullPath), SqliteSearchIndex.ConnectionString(fullPath) })
            {
                using var pooled = new SqliteConnection(connectionString);
                SqliteConnection.ClearPool(pooled);
            }

            var aside = $"{fullPath}.corrupt-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}";
            for (var n = 1; File.Exists(aside); n++)
            {
                aside = $"{fullPath}.corrupt-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{n}";
            }

            File.Move(fullPath, aside);
            // A stale -wal next to a new file would be replayed into it, so they go aside too.
            foreach (var suffix in new[] { "-wal", "-shm" })
            {
                if (File.Exists(fullPath + suffix))
                {
                    File.Move(fullPath + suffix, aside + suffix);
                }
            }

            return await OpenAsync(fullPath, ct);
        }
    }

    /// <inheritdoc />
    public async Task<ISearchIndex> OpenSearchIndexAsync(bool cacheResults, CancellationToken ct)
    {
        var index = await SqliteSearchIndex.OpenAsync(this, ct);
        index.CacheResults = cacheResults;
        return index;
    }

    /// <inheritdoc />
    /// <remarks>
    /// A fresh, unpooled connection that may not create the file: pooled connections keep a file that was deleted or
    /// overwritten open, and an open that creates would hide a lost database behind an empty one.
    /// </remarks>
    public async Task PingAsync(CancellationToken ct)
    {
        var settings = new SqliteConnectionStringBuilder(_connectionString) { Pooling = false, Mode = SqliteOpenMode.ReadWrite };
        await using var connection = new SqliteConnection(settings.ToString());
        await connection.OpenAsync(ct);
        var version = await connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA user_version", cancellationToken: ct));
        if (version == 0) throw new InvalidOperationException("the file holds no index database (schema version 0)");
    }

    private static string ConnectionString(string filePath) => new SqliteConnectionStringBuilder
    {
        DataSource = filePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = (int)BusyTimeout.TotalSeconds,
    }.ToString();

    /// <summary>An open connection that waits up to the busy timeout for another writer instead of failing.</summary>
    internal async Task<SqliteConnection> OpenConnectionAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition(
                $"PRAGMA busy_timeout = {(int)BusyTimeoutMilliseconds}", cancellationToken: ct));
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Turns the failures an operator must act on into a <see cref="SearchIndexException"/>.</summary>
    private async Task<T> GuardAsync<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (SqliteException e) when (Translate(FilePath, e) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>The <see cref="SearchIndexException"/> for an SQLite error an operator must act on; null for others.</summary>
    internal static SearchIndexException? Translate(string filePath, SqliteException e) => e.SqliteErrorCode switch
    {
        SQLitePCL.raw.SQLITE_CORRUPT or SQLitePCL.raw.SQLITE_NOTADB => new SearchIndexException(
            filePath, SearchIndexFailure.Corrupt,
            $"The search index database '{filePath}' is damaged or not an SQLite database ({e.Message}). " +
            "Delete the file, or run the 'reindex' verb, which moves it aside and rebuilds the index from storage.",
            e),
        SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED => new SearchIndexException(
            filePath, SearchIndexFailure.Locked,
            $"The search index database '{filePath}' stayed locked by another connection or process for " +
            $"more than {BusyTimeout.TotalSeconds:0} s. Stop the process holding it (e.g. a running 'reindex'), " +
            "or point sqlalchemy_index_database at another file.", e),
        SQLitePCL.raw.SQLITE_CANTOPEN or SQLitePCL.raw.SQLITE_READONLY or SQLitePCL.raw.SQLITE_PERM
            or SQLitePCL.raw.SQLITE_IOERR => new SearchIndexException(
            filePath, SearchIndexFailure.CannotOpen,
            $"The search index database '{filePath}' cannot be opened for writing ({e.Message}). Check the " +
            "path and permissions of sqlalchemy_index_database.", e),
        _ => null,
    };
}
