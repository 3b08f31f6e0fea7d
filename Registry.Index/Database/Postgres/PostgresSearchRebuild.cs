using Dapper;
using Npgsql;
using NpgsqlTypes;
using Registry.Index.Search;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// Replaces every search row at once (<see cref="ISearchIndex.ReplaceAllAsync(IEnumerable{SearchEntry}, CancellationToken)"/>):
/// the rows go by binary COPY into a table of the rebuild's own, as they come (a storage scan still running feeds
/// it), written frozen and all-visible; the table is indexed once they are all in (building a trigram index from
/// the whole table is many times faster than maintaining it row by row), every index at once on connections of
/// their own, analysed, and then swapped in for search_repositories in one short transaction that also starts a
/// generation of its own (logged as a reset). Readers keep the old rows until then and wait only for the swap; a
/// rebuild that fails leaves the old table as it was.
/// </summary>
internal static class PostgresSearchRebuild
{
    /// <summary>
    /// Memory for each index build (PostgreSQL manual, "maintenance_work_mem"): a trigram index of a million names
    /// collects its entries in memory and writes them out each time this fills, so less means more passes.
    /// </summary>
    private const string IndexMemory = "512MB";

    /// <summary>Rows given as a whole (a copy, a test): the last of a repeated name wins, written in result order.</summary>
    public static Task RunAsync(PostgresIndexDatabase database, NpgsqlConnection connection, IEnumerable<SearchEntry> entries, CancellationToken ct)
    {
        var latest = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        foreach (var entry in entries) latest[entry.Name] = entry;
        // Result order, so that the walks of frequent terms read neighbouring pages.
        var ordered = latest.Values.OrderByDescending(e => e.StarCount).ThenBy(e => e.Name, StringComparer.Ordinal);
        return LoadAsync(database, connection, async writer =>
        {
            foreach (var entry in ordered) await WriteRowAsync(writer, entry, ct);
        }, ct);
    }

    /// <summary>
    /// Rows as a scan finds them, copied while it runs. A scan yields names in storage order, which is name order,
    /// and no stars: result order already. A repeated name is tolerated (the last one wins) without remembering
    /// every name: the primary key's build finds it.
    /// </summary>
    public static Task RunAsync(PostgresIndexDatabase database, NpgsqlConnection connection, IAsyncEnumerable<SearchEntry> entries, CancellationToken ct) =>
        LoadAsync(database, connection, async writer =>
        {
            await foreach (var entry in entries.WithCancellation(ct)) await WriteRowAsync(writer, entry, ct);
        }, ct);

    private static async Task LoadAsync(PostgresIndexDatabase database, NpgsqlConnection connection, Func<NpgsqlBinaryImporter, Task> copyRows, CancellationToken ct)
    {
        // A name of its own, so that rebuilds by two instances at once do not load into one table.
        var suffix = "_" + Guid.NewGuid().ToString("N")[..12];
        var table = "search_repositories_load" + suffix;
        try
        {
            // Created in the transaction of the COPY, the table can be written frozen and marked all-visible
            // (PostgreSQL manual, "COPY", FREEZE): no VACUUM afterwards for index-only walks.
            await using (var load = await connection.BeginTransactionAsync(ct))
            {
                await ExecuteAsync(connection, $"CREATE TABLE {table} (LIKE search_repositories INCLUDING DEFAULTS INCLUDING GENERATED)", ct, load);
                await using (var writer = await connection.BeginBinaryImportAsync(
                    $"COPY {table} (name, description, star_count, name_lower, repo_lower, description_lower) FROM STDIN (FORMAT BINARY, FREEZE)", ct))
                {
                    await copyRows(writer);
                    await writer.CompleteAsync(ct);
                }

                await load.CommitAsync(ct);
            }

            // Every index at once, each on a connection of its own: they only read the table. The primary key is
            // a unique index here, attached as the constraint in the swap.
            await Task.WhenAll(PostgresSearchSchema.Indexes.Select(index => database.RunAsync(other => BuildIndexAsync(other, table, suffix, index.Definition, ct), ct)));
            // Statistics for the planner's choice between walking the ordering index and sorting matches.
            await ExecuteAsync(connection, $"ANALYZE {table}", ct);

            await using var swap = await connection.BeginTransactionAsync(ct);
            await ExecuteAsync(connection, "LOCK TABLE search_repositories IN ACCESS EXCLUSIVE MODE", ct, swap);
            await ExecuteAsync(connection, "DROP TABLE search_repositories", ct, swap);
            await ExecuteAsync(connection, $"ALTER TABLE {table} RENAME TO search_repositories", ct, swap);
            foreach (var (name, _) in PostgresSearchSchema.Indexes)
                await ExecuteAsync(connection, $"ALTER INDEX {name}{suffix} RENAME TO {name}", ct, swap);
            await ExecuteAsync(connection, PostgresSearchSchema.AttachPrimaryKey, ct, swap);
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

    private static async Task BuildIndexAsync(NpgsqlConnection connection, string table, string suffix, string definition, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                await ExecuteAsync(connection, $"SET LOCAL maintenance_work_mem = '{IndexMemory}'", ct, tx);
                await ExecuteAsync(connection, string.Format(definition, table, suffix), ct, tx);
                await tx.CommitAsync(ct);
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && attempt == 0)
            {
                // A name given twice: the later copy (the higher row position of a table only ever appended to) wins.
                await ExecuteAsync(connection, $"DELETE FROM {table} AS a USING {table} AS b WHERE a.name = b.name AND a.ctid < b.ctid", ct);
            }
        }
    }

    private static async Task WriteRowAsync(NpgsqlBinaryImporter writer, SearchEntry entry, CancellationToken ct)
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

    private static Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct, NpgsqlTransaction? tx = null) =>
        connection.ExecuteAsync(new CommandDefinition(sql, transaction: tx, cancellationToken: ct, commandTimeout: 0));
}
