using Dapper;
using Npgsql;
using NpgsqlTypes;
using Registry.Index.Search;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// Replaces every search row at once (<see cref="ISearchIndex.ReplaceAllAsync"/>): the rows go by binary COPY
/// into a table of the rebuild's own, which is indexed once they are all in (building a trigram index from
/// sorted input is many times faster than maintaining it row by row), vacuumed and analysed, and then swapped
/// in for search_repositories in one short transaction that also starts a generation of its own (logged as a reset). Readers keep the old
/// rows until then and wait only for the swap; a rebuild that fails leaves the old table as it was.
/// </summary>
internal static class PostgresSearchRebuild
{
    /// <summary>Memory for each index build (PostgreSQL manual, "maintenance_work_mem"): the trigram indexes sort in memory.</summary>
    private const string IndexMemory = "256MB";

    public static async Task RunAsync(PostgresIndexDatabase database, NpgsqlConnection connection, IEnumerable<SearchEntry> entries, CancellationToken ct)
    {
        var latest = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        foreach (var entry in entries) latest[entry.Name] = entry;

        // A name of its own, so that rebuilds by two instances at once do not load into one table.
        var suffix = "_" + Guid.NewGuid().ToString("N")[..12];
        var table = "search_repositories_load" + suffix;
        try
        {
            await ExecuteAsync(connection, $"CREATE TABLE {table} (LIKE search_repositories INCLUDING DEFAULTS INCLUDING GENERATED)", ct);
            await CopyAsync(connection, table, latest.Values, ct);
            await ExecuteAsync(connection, string.Format(PostgresSearchSchema.Indexes[0].Definition, table, suffix), ct);
            // The other indexes only read the table: built side by side on connections of their own.
            await Task.WhenAll(PostgresSearchSchema.Indexes.Skip(1).Select(index => database.RunAsync(async other =>
            {
                await using var tx = await other.BeginTransactionAsync(ct);
                await ExecuteAsync(other, $"SET LOCAL maintenance_work_mem = '{IndexMemory}'", ct, tx);
                await ExecuteAsync(other, string.Format(index.Definition, table, suffix), ct, tx);
                await tx.CommitAsync(ct);
            }, ct)));
            // Statistics for the planner's choice between walking the ordering index and sorting matches, and the
            // visibility map, so that walks read the index alone.
            await ExecuteAsync(connection, $"VACUUM (ANALYZE) {table}", ct);

            await using var swap = await connection.BeginTransactionAsync(ct);
            await ExecuteAsync(connection, "LOCK TABLE search_repositories IN ACCESS EXCLUSIVE MODE", ct, swap);
            await ExecuteAsync(connection, "DROP TABLE search_repositories", ct, swap);
            await ExecuteAsync(connection, $"ALTER TABLE {table} RENAME TO search_repositories", ct, swap);
            foreach (var (name, _) in PostgresSearchSchema.Indexes)
                await ExecuteAsync(connection, $"ALTER INDEX {name}{suffix} RENAME TO {name}", ct, swap);
            await ExecuteAsync(connection, PostgresSearchSchema.Triggers, ct, swap);
            await ExecuteAsync(connection, PostgresSearchSchema.Reset, ct, swap);
            await swap.CommitAsync(ct);
        }
        finally
        {
            // After a swap the name is gone; after a failure the half-built table goes (unless the server went away).
            if (connection.FullState == System.Data.ConnectionState.Open)
                await ExecuteAsync(connection, $"DROP TABLE IF EXISTS {table}", CancellationToken.None);
        }
    }

    /// <summary>The rows in result order, so that the walks of frequent terms read neighbouring pages.</summary>
    private static async Task CopyAsync(NpgsqlConnection connection, string table, IEnumerable<SearchEntry> entries, CancellationToken ct)
    {
        await using var writer = await connection.BeginBinaryImportAsync(
            $"COPY {table} (name, description, star_count, name_lower, repo_lower, description_lower) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var entry in entries.OrderByDescending(e => e.StarCount).ThenBy(e => e.Name, StringComparer.Ordinal))
        {
            var row = PostgresSearchIndex.Row.Of(entry.Name, entry.Description);
            await writer.StartRowAsync(ct);
            await writer.WriteAsync(row.Name, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(row.Description, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(entry.StarCount, NpgsqlDbType.Integer, ct);
            await writer.WriteAsync(row.NameLower, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(row.RepoLower, NpgsqlDbType.Text, ct);
            await writer.WriteAsync(row.DescriptionLower, NpgsqlDbType.Text, ct);
        }

        await writer.CompleteAsync(ct);
    }

    private static Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct, NpgsqlTransaction? tx = null) =>
        connection.ExecuteAsync(new CommandDefinition(sql, transaction: tx, cancellationToken: ct, commandTimeout: 0));
}
