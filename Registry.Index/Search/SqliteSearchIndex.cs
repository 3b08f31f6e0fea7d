using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Registry.Index.Search;

/// <summary>
/// The search index in an SQLite file (WAL, busy timeout), shared safely by many requests and by several
/// processes. Every write takes a pooled connection of its own; searches use long-lived read connections
/// with prepared statements (<see cref="SearchReadPool"/>). Matching and paging are described in
/// <c>SqliteSearchIndex.Search.cs</c>. Disposing closes the read connections.
/// </summary>
public sealed partial class SqliteSearchIndex : ISearchIndex, IDisposable
{
    internal const double BusyTimeoutMilliseconds = 10_000;

    private static readonly TimeSpan BusyTimeout = TimeSpan.FromMilliseconds(BusyTimeoutMilliseconds);

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
    /// Opens (creating when absent, with its parent directory) and migrates the database. A corrupt file,
    /// a newer schema or a lock held beyond the busy timeout throws <see cref="SearchIndexException"/>.
    /// </summary>
    public static async Task<SqliteSearchIndex> OpenAsync(string filePath, CancellationToken ct)
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

        var index = new SqliteSearchIndex(fullPath);
        await index.GuardAsync(async () =>
        {
            await using var connection = await index.OpenConnectionAsync(ct);
            // WAL is a property of the file, so setting it once here covers every later connection.
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL", cancellationToken: ct));
            await SearchSchema.MigrateAsync(connection, fullPath, ct);
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
    /// For the <c>reindex</c> verb: opens the database, and when it is corrupt or of a newer schema moves
    /// it (with its -wal and -shm files) aside as <c>&lt;file&gt;.corrupt-&lt;UTC timestamp&gt;</c> and
    /// creates a fresh, empty one. The caller then fills it with <see cref="ReplaceAllAsync"/>.
    /// A database that is merely locked is left alone and the exception propagates.
    /// </summary>
    public static async Task<SqliteSearchIndex> RecreateAsync(string filePath, CancellationToken ct)
    {
        var fullPath = Path.GetFullPath(filePath);
        try
        {
            return await OpenAsync(fullPath, ct);
        }
        catch (SearchIndexException e) when (e.Failure is SearchIndexFailure.Corrupt or SearchIndexFailure.NewerVersion)
        {
            // Pooled connections still hold the old file open.
            using (var pooled = new SqliteConnection(ConnectionString(fullPath)))
            {
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
    public Task AddRepositoryAsync(string name, CancellationToken ct) => WriteAsync(name, null, remove: false, ct);

    /// <inheritdoc />
    public Task SetDescriptionAsync(string name, string description, CancellationToken ct) =>
        WriteAsync(name, description ?? "", remove: false, ct);

    /// <inheritdoc />
    public Task RemoveRepositoryAsync(string name, CancellationToken ct) => WriteAsync(name, null, remove: true, ct);

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

    private async Task WriteAsync(string name, string? description, bool remove, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(name);
        await GuardAsync(async () =>
        {
            await using var connection = await OpenConnectionAsync(ct);
            using var transaction = BeginWrite(connection);
            var versionBefore = await ReadVersionAsync(connection, transaction, ct);
            var existing = await connection.QuerySingleOrDefaultAsync<StoredRow>(new CommandDefinition(
                "SELECT id AS Id, description AS Description, star_count AS StarCount FROM search_repositories WHERE name = @name",
                new { name }, transaction, cancellationToken: ct));
            var before = existing is null ? null : SearchRow.From(name, existing.Description, (int)existing.StarCount);
            var after = remove
                ? null
                : SearchRow.From(name, description ?? existing?.Description ?? "", (int)(existing?.StarCount ?? 0));
            if (before == after)
            {
                return;
            }

            if (after is null)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "DELETE FROM search_repositories WHERE id = @Id", new { existing!.Id }, transaction, cancellationToken: ct));
            }
            else if (before is null)
            {
                var orderKey = await PlaceAsync(connection, transaction, after.Name, after.StarCount, ct);
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO search_repositories(name, description, star_count, name_lower, repo_lower, description_lower, order_key, name_mask)
                    VALUES (@Name, @Description, @StarCount, @NameLower, @RepoLower, @DescriptionLower, @orderKey, @nameMask)
                    """, new { after.Name, after.Description, after.StarCount, after.NameLower, after.RepoLower, after.DescriptionLower, orderKey, nameMask = NameMask.Of(after.NameLower) },
                    transaction, cancellationToken: ct));
            }
            else
            {
                await connection.ExecuteAsync(new CommandDefinition("""
                    UPDATE search_repositories SET description = @Description, description_lower = @DescriptionLower
                    WHERE id = @Id
                    """, new { existing!.Id, after.Description, after.DescriptionLower }, transaction, cancellationToken: ct));
            }

            var deltas = new Dictionary<long, TermCounts>();
            var scratch = new ShortTermCounts.Scratch();
            if (before is not null)
            {
                ShortTermCounts.Add(deltas, before.NameLower, before.RepoLower, before.DescriptionLower, -1, scratch);
            }

            if (after is not null)
            {
                ShortTermCounts.Add(deltas, after.NameLower, after.RepoLower, after.DescriptionLower, +1, scratch);
            }

            ApplyTermDeltas(connection, transaction, deltas);
            var versionAfter = await ReadVersionAsync(connection, transaction, ct);
            transaction.Commit();
            _counts.CarryOver(
                versionBefore, versionAfter, term => Contains(before, term) || Contains(after, term),
                (after is null ? 0 : 1) - (before is null ? 0 : 1));
        });
    }

    /// <summary>
    /// The order key for a new row: the middle of the gap between its neighbours in result order (SQLite
    /// compares, so the order is exactly the one searches use). When the gap is used up, the rows around it
    /// are spread evenly over a wider span first (<see cref="RenumberAsync"/>). Runs in the write transaction.
    /// </summary>
    private static async Task<long> PlaceAsync(
        SqliteConnection connection, SqliteTransaction transaction, string name, int starCount, CancellationToken ct)
    {
        async Task<long?> KeyAsync(string sql) => await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT order_key FROM search_repositories INDEXED BY ix_search_rank " + sql,
            new { name, stars = starCount }, transaction, cancellationToken: ct));

        var previous = await KeyAsync("WHERE star_count = @stars AND name < @name ORDER BY star_count DESC, name DESC LIMIT 1")
            ?? await KeyAsync("WHERE star_count > @stars ORDER BY star_count, name DESC LIMIT 1");
        var next = await KeyAsync("WHERE star_count = @stars AND name > @name ORDER BY star_count DESC, name LIMIT 1")
            ?? await KeyAsync("WHERE star_count < @stars ORDER BY star_count DESC, name LIMIT 1");
        return (previous, next) switch
        {
            (null, null) => SearchSchema.OrderKeyGap,
            (null, { } n) => n - SearchSchema.OrderKeyGap,
            ({ } p, null) => p + SearchSchema.OrderKeyGap,
            ({ } p, { } n) when n - p >= 2 => p + (n - p) / 2,
            ({ } p, { } n) => await RenumberAsync(connection, transaction, p, n, ct),
        };
    }

    /// <summary>
    /// Makes room between two adjacent keys: the nearest rows on either side (more each round, until the span
    /// they share with the new row leaves a gap of 2 or more) get evenly spaced keys, in the same order, and
    /// the key of the new row's slot is returned. Rows outside the window keep their keys, so the new keys,
    /// strictly between the window's bounds, can collide only with keys of the window itself; rows moving
    /// down are moved lowest first and rows moving up highest first, so no row ever takes a key still held.
    /// </summary>
    private static async Task<long> RenumberAsync(
        SqliteConnection connection, SqliteTransaction transaction, long previous, long next, CancellationToken ct)
    {
        for (var reach = 32; ; reach *= 2)
        {
            var below = (await connection.QueryAsync<long>(new CommandDefinition(
                "SELECT order_key FROM search_repositories INDEXED BY ix_search_order WHERE order_key <= @previous ORDER BY order_key DESC LIMIT @n",
                new { previous, n = reach + 1 }, transaction, cancellationToken: ct))).ToList();
            var above = (await connection.QueryAsync<long>(new CommandDefinition(
                "SELECT order_key FROM search_repositories INDEXED BY ix_search_order WHERE order_key >= @next ORDER BY order_key LIMIT @n",
                new { next, n = reach + 1 }, transaction, cancellationToken: ct))).ToList();
            var window = below.Take(reach).Reverse().Concat(above.Take(reach)).ToList();
            var slots = window.Count + 1;
            // A side that reaches the first or last row is open: it extends by a gap per slot.
            var low = below.Count > reach ? below[reach] : below[^1] - SearchSchema.OrderKeyGap * slots;
            var high = above.Count > reach ? above[reach] : above[^1] + SearchSchema.OrderKeyGap * slots;
            var step = (high - low) / (slots + 1);
            if (step < 2)
            {
                continue;
            }

            var newRow = Math.Min(reach, below.Count);
            var moves = new List<(long From, long To)>(window.Count);
            for (var i = 0; i < window.Count; i++)
            {
                var slot = i < newRow ? i : i + 1;
                moves.Add((window[i], low + step * (slot + 1)));
            }

            var ordered = moves.Where(m => m.To < m.From).OrderBy(m => m.From)
                .Concat(moves.Where(m => m.To > m.From).OrderByDescending(m => m.From));
            foreach (var (from, to) in ordered)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE search_repositories SET order_key = @to WHERE order_key = @from",
                    new { from, to }, transaction, cancellationToken: ct));
            }

            return low + step * (newRow + 1);
        }
    }

    private static Task<long> ReadVersionAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(SearchSchema.ReadVersion, transaction: transaction, cancellationToken: ct));

    /// <summary>
    /// Whether the row counts toward any count of <paramref name="term"/>: every count is of rows whose name
    /// or description contains it. Compared as SQLite sees the text, UTF-8, in which a lone surrogate has
    /// become U+FFFD.
    /// </summary>
    private static bool Contains(SearchRow? row, string term) =>
        row is not null && (AsStored(row.NameLower).Contains(AsStored(term), StringComparison.Ordinal)
            || AsStored(row.DescriptionLower).Contains(AsStored(term), StringComparison.Ordinal));

    private static string AsStored(string text) =>
        text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0 ? text : Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));

    private static void ApplyTermDeltas(
        SqliteConnection connection, SqliteTransaction transaction, Dictionary<long, TermCounts> deltas)
    {
        // Up to a hundred terms per write: one prepared statement beats a Dapper call per term.
        using var upsert = connection.CreateCommand();
        upsert.Transaction = transaction;
        upsert.CommandText = """
            INSERT INTO search_short_terms(term, n_any, n_name, n_prefix) VALUES ($term, $any, $name, $prefix)
            ON CONFLICT(term) DO UPDATE SET
                n_any = n_any + excluded.n_any, n_name = n_name + excluded.n_name, n_prefix = n_prefix + excluded.n_prefix
            """;
        var term = upsert.Parameters.Add("$term", SqliteType.Text);
        var any = upsert.Parameters.Add("$any", SqliteType.Integer);
        var inName = upsert.Parameters.Add("$name", SqliteType.Integer);
        var prefix = upsert.Parameters.Add("$prefix", SqliteType.Integer);
        upsert.Prepare();

        using var prune = connection.CreateCommand();
        prune.Transaction = transaction;
        prune.CommandText = "DELETE FROM search_short_terms WHERE term = $term AND term <> '' AND n_any = 0";
        var pruneTerm = prune.Parameters.Add("$term", SqliteType.Text);

        foreach (var (key, delta) in deltas)
        {
            if (delta.IsZero)
            {
                continue;
            }

            term.Value = ShortTermCounts.Decode(key);
            any.Value = delta.Any;
            inName.Value = delta.Name;
            prefix.Value = delta.Prefix;
            upsert.ExecuteNonQuery();
            if (delta.Any < 0)
            {
                pruneTerm.Value = term.Value;
                prune.ExecuteNonQuery();
            }
        }
    }

    private static string ConnectionString(string filePath) => new SqliteConnectionStringBuilder
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
    /// the file, which <see cref="OpenAsync"/> has done.
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

    private SearchIndexException? Translate(SqliteException e) => e.SqliteErrorCode switch
    {
        SQLitePCL.raw.SQLITE_CORRUPT or SQLitePCL.raw.SQLITE_NOTADB => new SearchIndexException(
            FilePath, SearchIndexFailure.Corrupt,
            $"The search index database '{FilePath}' is damaged or not an SQLite database ({e.Message}). " +
            "Delete the file, or run the 'reindex' verb, which moves it aside and rebuilds the index from storage.",
            e),
        SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED => new SearchIndexException(
            FilePath, SearchIndexFailure.Locked,
            $"The search index database '{FilePath}' stayed locked by another connection or process for " +
            $"more than {BusyTimeout.TotalSeconds:0} s. Stop the process holding it (e.g. a running 'reindex'), " +
            "or point sqlalchemy_index_database at another file.", e),
        SQLitePCL.raw.SQLITE_CANTOPEN or SQLitePCL.raw.SQLITE_READONLY or SQLitePCL.raw.SQLITE_PERM
            or SQLitePCL.raw.SQLITE_IOERR => new SearchIndexException(
            FilePath, SearchIndexFailure.CannotOpen,
            $"The search index database '{FilePath}' cannot be opened for writing ({e.Message}). Check the " +
            "path and permissions of sqlalchemy_index_database.", e),
        _ => null,
    };

    private sealed record StoredRow(long Id, string Description, long StarCount);
}
