using Dapper;
using Microsoft.Data.Sqlite;
using Registry.Index.Search;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// The search index in an SQLite file (WAL, busy timeout), shared safely by many requests and by several
/// processes. Every write takes a pooled connection of its own; searches use long-lived read connections
/// with prepared statements (<see cref="SearchReadPool"/>). Matching and paging are described in
/// <c>SqliteSearchIndex.Search.cs</c>, writes in <c>SqliteSearchIndex.Writes.cs</c>. The tables belong to the
/// index database's schema (<see cref="SqliteMigrations"/>). Disposing closes the read connections.
/// </summary>
public sealed partial class SqliteSearchIndex : ISearchIndex, IDisposable
{
    private static readonly TimeSpan BusyTimeout = SqliteIndexDatabase.BusyTimeout;

    private readonly string _connectionString;

    private readonly SearchReadPool _reads;

    private readonly SearchResultCache _cache;

    private readonly SearchCountCache _counts = new(capacity: 4096);

    private readonly SemaphoreSlim _searchSlots;

    private SqliteSearchIndex(string filePath)
    {
        FilePath = filePath;
        _connectionString = ConnectionString(filePath);
        // Searches run synchronously, so about one session per core is busy at a time; a few more stay
        // open for bursts.
        var sessions = Math.Max(4, 2 * Environment.ProcessorCount);
        _reads = new SearchReadPool(ReadConnectionString(filePath), sessions);
        _searchSlots = new SemaphoreSlim(sessions, sessions);
        _cache = new SearchResultCache(ReadConnectionString(filePath), capacity: 1024);
    }

    /// <summary>
    /// Serve repeated searches from the page cache (checked against <c>PRAGMA data_version</c>, so never stale).
    /// Benchmarks of the search itself turn it off.
    /// </summary>
    public bool CacheResults { get; set; } = true;

    /// <summary>The database file.</summary>
    public string FilePath { get; }

    /// <summary>
    /// Opens (creating when absent, with its parent directory) and migrates the index database, then the
    /// search index over it. A corrupt file, a newer schema or a lock held beyond the busy timeout throws
    /// <see cref="SearchIndexException"/>.
    /// </summary>
    public static async Task<SqliteSearchIndex> OpenAsync(string filePath, CancellationToken ct) =>
        await OpenAsync(await SqliteIndexDatabase.OpenAsync(filePath, ct), ct);

    /// <summary>The search index over an opened (so migrated) index database.</summary>
    public static async Task<SqliteSearchIndex> OpenAsync(SqliteIndexDatabase database, CancellationToken ct)
    {
        var index = new SqliteSearchIndex(database.FilePath);
        await index.GuardAsync(async () =>
        {
            await using var connection = await index.OpenConnectionAsync(ct);
            // Touch the tables a search reads so that a damaged file fails here, at start-up, and not
            // at the first request.
            await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT n_any FROM search_short_terms WHERE term = ''", cancellationToken: ct));
            await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "SELECT name FROM search_repositories INDEXED BY ix_search_order LIMIT 1", cancellationToken: ct));
            await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT count(*) FROM search_fts WHERE search_fts MATCH '\"library\"'", cancellationToken: ct));
        });
        return index;
    }

    /// <summary>
    /// For the <c>reindex</c> verb: the search index over <see cref="SqliteIndexDatabase.RecreateAsync"/>, which
    /// moves a corrupt database or one of a newer schema aside. The caller then fills it with
    /// <see cref="ReplaceAllAsync"/>.
    /// </summary>
    public static async Task<SqliteSearchIndex> RecreateAsync(string filePath, CancellationToken ct) =>
        await OpenAsync(await SqliteIndexDatabase.RecreateAsync(filePath, ct), ct);

    /// <inheritdoc />
    public Task<IReadOnlyList<SearchEntry>> ListAllAsync(CancellationToken ct) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<(string Name, string Description, int StarCount)>(new CommandDefinition(
            "SELECT name, description, star_count FROM search_repositories ORDER BY name", cancellationToken: ct));
        return (IReadOnlyList<SearchEntry>)rows.Select(r => new SearchEntry(r.Name, r.Description, r.StarCount)).ToList();
    });

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListNamesUnderAsync(string prefix, CancellationToken ct) => GuardAsync(async () =>
    {
        // The UNIQUE index on name orders by BINARY, UTF-8's code point order: the prefix's names are one range of it.
        await using var connection = await OpenConnectionAsync(ct);
        var names = prefix.Length == 0
            ? await connection.QueryAsync<string>(new CommandDefinition("SELECT name FROM search_repositories WHERE instr(name, '/') = 0", cancellationToken: ct))
            : await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT name FROM search_repositories WHERE name >= @from AND name < @below",
                new { from = prefix, below = prefix[..^1] + (char)(prefix[^1] + 1) }, cancellationToken: ct));
        return (IReadOnlyList<string>)names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.IndexOf('/', prefix.Length) < 0).ToList();
    });

    /// <inheritdoc />
    public Task<long> CountAsync(CancellationToken ct) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT n_any FROM search_short_terms WHERE term = ''", cancellationToken: ct));
    });

    /// <inheritdoc />
    public Task ReplaceAllAsync(IEnumerable<SearchEntry> entries, CancellationToken ct) => GuardAsync(async () =>
    {
        await using var connection = await OpenConnectionAsync(ct);
        // A large page cache for the index builds of this one operation; reset before the connection
        // goes back to the pool.
        await connection.ExecuteAsync(new CommandDefinition("PRAGMA cache_size = -262144", cancellationToken: ct));
        try
        {
            using var transaction = BeginWrite(connection);
            await SearchBulkLoader.LoadAsync(connection, transaction, entries, ct);
            transaction.Commit();
        }
        finally
        {
            await connection.ExecuteAsync("PRAGMA cache_size = -2000");
        }
    });

    internal static string ConnectionString(string filePath) => new SqliteConnectionStringBuilder
    {
        DataSource = filePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        // Microsoft.Data.Sqlite retries SQLITE_BUSY for this long on top of SQLite's own busy timeout.
        DefaultTimeout = (int)BusyTimeout.TotalSeconds,
    }.ToString();

    /// <summary>
    /// Read connections live as long as the index, outside Microsoft.Data.Sqlite's pool; they never create
    /// the file, which <see cref="SqliteIndexDatabase.OpenAsync"/> has done.
    /// </summary>
    private static string ReadConnectionString(string filePath) => new SqliteConnectionStringBuilder
    {
        DataSource = filePath,
        Mode = SqliteOpenMode.ReadWrite,
        Cache = SqliteCacheMode.Private,
        Pooling = false,
        DefaultTimeout = (int)BusyTimeout.TotalSeconds,
    }.ToString();

    /// <inheritdoc />
    public void Dispose()
    {
        _cache.Dispose();
        _reads.Dispose();
    }

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(ct);
            // Per-connection settings; a pooled connection may be new, so they are applied every time.
            // Memory-mapped reads share the OS page cache between all pooled connections and spare a
            // read() call per page; a search touches thousands of pages of a file that grows to ~1 GB.
            await connection.ExecuteAsync(new CommandDefinition(
                $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds}; PRAGMA synchronous = NORMAL; " +
                "PRAGMA mmap_size = 2147418112;",
                cancellationToken: ct));
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// BEGIN IMMEDIATE takes the write lock up front, so a transaction never has to upgrade a read lock,
    /// the one case where SQLite reports BUSY without waiting. A BUSY after the full timeout is retried a
    /// few times more before it is reported.
    /// </summary>
    private static SqliteTransaction BeginWrite(SqliteConnection connection)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return connection.BeginTransaction(deferred: false);
            }
            catch (SqliteException e) when (e.SqliteErrorCode == SQLitePCL.raw.SQLITE_BUSY && attempt < 3)
            {
            }
        }
    }

    private async Task GuardAsync(Func<Task> action) => await GuardAsync(async () =>
    {
        await action();
        return true;
    });

    /// <summary>Turns the failures an operator must act on into a <see cref="SearchIndexException"/>.</summary>
    private async Task<T> GuardAsync<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (SqliteException e) when (Translate(e) is { } failure)
        {
            throw failure;
        }
    }

    private T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (SqliteException e) when (Translate(e) is { } failure)
        {
            throw failure;
        }
    }

    private SearchIndexException? Translate(SqliteException e) => SqliteIndexDatabase.Translate(FilePath, e);
}
