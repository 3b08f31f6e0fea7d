using Dapper;
using Microsoft.Data.Sqlite;
using Registry.Index.Search;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// The layout of the search tables and the steps that built it, versions 1 to 4 of
/// <see cref="SqliteMigrations"/> (once the search tables' own versions, kept in <c>PRAGMA user_version</c>).
/// </summary>
internal static class SearchSchema
{
    /// <summary>
    /// Secondary indexes. Every row has an <c>order_key</c> that ascends in result order (star count
    /// descending, then name), so the indexes that lead with it are already in result order: a walk for a
    /// frequent term or a page of a tier is a range scan with an OFFSET, and the ordering index covers every
    /// column the name filters read (the character mask first, <see cref="NameMask"/>), so such a walk never
    /// touches the table and mostly stops decoding at the mask. Only a described row can match
    /// by its description alone, so the walk for that tier uses a partial ordering index of the described
    /// rows (a fraction of all rows in a public registry). The prefix indexes carry the order key, so a
    /// prefix tier sorts integers. The rank index finds a new row's neighbours in result order.
    /// </summary>
    public const string CreateIndexes = CreateOrderIndex + """

        CREATE INDEX ix_search_described ON search_repositories(order_key, name_lower, description_lower)
            WHERE description_lower <> '';
        CREATE INDEX ix_search_name_lower ON search_repositories(name_lower, order_key, repo_lower);
        CREATE INDEX ix_search_repo_lower ON search_repositories(repo_lower, order_key);
        CREATE INDEX ix_search_rank ON search_repositories(star_count DESC, name, order_key);
        """;

    private const string CreateOrderIndex =
        "CREATE INDEX ix_search_order ON search_repositories(order_key, name_mask, name_lower, repo_lower);";

    public const string DropIndexes = """
        DROP INDEX IF EXISTS ix_search_order;
        DROP INDEX IF EXISTS ix_search_described;
        DROP INDEX IF EXISTS ix_search_name_lower;
        DROP INDEX IF EXISTS ix_search_repo_lower;
        DROP INDEX IF EXISTS ix_search_rank;
        """;

    /// <summary>
    /// The spacing of order keys as a bulk load assigns them: a new row takes the middle of the gap between
    /// its neighbours, so about 24 rows fit between two neighbours before any row has to be renumbered.
    /// </summary>
    public const long OrderKeyGap = 1L << 24;

    /// <summary>Numbers every row in result order, <see cref="OrderKeyGap"/> apart (SQLite's own collation decides).</summary>
    public const string AssignOrderKeys = """
        UPDATE search_repositories SET order_key = o.n * 16777216
        FROM (SELECT id, row_number() OVER (ORDER BY star_count DESC, name) AS n FROM search_repositories) AS o
        WHERE o.id = search_repositories.id;
        """;

    /// <summary>
    /// Trigram full-text index over the lower-cased name and description, its rowid the row's order key, so
    /// that matches come out in result order without a sort or a table lookup. Contentless (the table holds
    /// the text) with contentless_delete so that rows can be deleted by rowid; case_sensitive 1 because the
    /// text is already lower-cased by .NET, so FTS5's own folding could only disagree with it.
    /// </summary>
    public const string CreateFullText = """
        CREATE VIRTUAL TABLE search_fts USING fts5(
            name_t, desc_t, content='', contentless_delete=1, tokenize='trigram case_sensitive 1');
        """;

    public const string PopulateFullText = """
        INSERT INTO search_fts(rowid, name_t, desc_t)
        SELECT order_key, name_lower, description_lower FROM search_repositories;
        INSERT INTO search_fts(search_fts) VALUES ('optimize');
        """;

    /// <summary>
    /// The version of the rows: a random value replaced by every change, read inside a search's snapshot so
    /// that counts cached for one version (<see cref="SearchCountCache"/>) are exact for that snapshot in
    /// whatever process or connection the change was made. Random rather than a counter so that a file
    /// recreated from scratch cannot repeat an earlier value.
    /// </summary>
    public const string CreateMeta = """
        CREATE TABLE search_meta (id INTEGER PRIMARY KEY CHECK (id = 0), version INTEGER NOT NULL);
        INSERT INTO search_meta(id, version) VALUES (0, random());
        """;

    public const string ReadVersion = "SELECT version FROM search_meta WHERE id = 0";

    /// <summary>
    /// Keep the full-text index, the row version and the order keys in step with every change, also one made
    /// by another program through plain SQL. The registry itself never changes a star count or a name, but
    /// such a change moves the row in result order: it takes the middle of the gap between its new neighbours,
    /// and when that gap is used up every row is numbered afresh (via negative keys, so that no key is ever
    /// held twice; the phase of negative keys is what the second statement looks for). A name changed without
    /// its character mask makes the mask unknown, so that the walks still test that row's name.
    /// </summary>
    public const string CreateTriggers = """
        CREATE TRIGGER search_repositories_ai AFTER INSERT ON search_repositories BEGIN
            INSERT INTO search_fts(rowid, name_t, desc_t) VALUES (new.order_key, new.name_lower, new.description_lower);
            UPDATE search_meta SET version = random() WHERE id = 0;
        END;
        CREATE TRIGGER search_repositories_ad AFTER DELETE ON search_repositories BEGIN
            DELETE FROM search_fts WHERE rowid = old.order_key;
            UPDATE search_meta SET version = random() WHERE id = 0;
        END;
        CREATE TRIGGER search_repositories_au AFTER UPDATE OF name_lower, description_lower, order_key ON search_repositories BEGIN
            DELETE FROM search_fts WHERE rowid = old.order_key;
            INSERT INTO search_fts(rowid, name_t, desc_t) VALUES (new.order_key, new.name_lower, new.description_lower);
        END;
        CREATE TRIGGER search_repositories_rank_au AFTER UPDATE OF star_count, name ON search_repositories BEGIN
            UPDATE search_repositories SET order_key = -o.n
            FROM (SELECT id, row_number() OVER (ORDER BY star_count DESC, name)
                    + (SELECT max(abs(order_key)) FROM search_repositories) AS n FROM search_repositories) AS o
            WHERE o.id = search_repositories.id AND (
                SELECT n - p < 2 FROM (SELECT
                    (SELECT order_key FROM search_repositories INDEXED BY ix_search_rank WHERE id <> new.id
                        AND (star_count > new.star_count OR (star_count = new.star_count AND name < new.name))
                        ORDER BY star_count, name DESC LIMIT 1) AS p,
                    (SELECT order_key FROM search_repositories INDEXED BY ix_search_rank WHERE id <> new.id
                        AND (star_count < new.star_count OR (star_count = new.star_count AND name > new.name))
                        ORDER BY star_count DESC, name LIMIT 1) AS n));
            UPDATE search_repositories SET order_key = o.n * 16777216
            FROM (SELECT id, row_number() OVER (ORDER BY star_count DESC, name) AS n FROM search_repositories) AS o
            WHERE o.id = search_repositories.id AND (SELECT min(order_key) FROM search_repositories) < 0;
            UPDATE search_repositories SET order_key = (
                SELECT CASE WHEN p IS NULL AND n IS NULL THEN 16777216 WHEN p IS NULL THEN n - 16777216
                    WHEN n IS NULL THEN p + 16777216 ELSE p + (n - p) / 2 END
                FROM (SELECT
                    (SELECT order_key FROM search_repositories INDEXED BY ix_search_rank WHERE id <> new.id
                        AND (star_count > new.star_count OR (star_count = new.star_count AND name < new.name))
                        ORDER BY star_count, name DESC LIMIT 1) AS p,
                    (SELECT order_key FROM search_repositories INDEXED BY ix_search_rank WHERE id <> new.id
                        AND (star_count < new.star_count OR (star_count = new.star_count AND name > new.name))
                        ORDER BY star_count DESC, name LIMIT 1) AS n))
            WHERE id = new.id;
        END;
        CREATE TRIGGER search_repositories_mask_au AFTER UPDATE OF name_lower ON search_repositories
            WHEN new.name_mask = old.name_mask AND new.name_mask <> -1 BEGIN
            UPDATE search_repositories SET name_mask = -1 WHERE id = new.id;
        END;
        CREATE TRIGGER search_repositories_version_au AFTER UPDATE ON search_repositories BEGIN
            UPDATE search_meta SET version = random() WHERE id = 0;
        END;
        """;

    /// <summary>Drops everything derived from the rows so that a bulk load can rebuild it in one pass.</summary>
    public const string DropDerived = """
        DROP TRIGGER IF EXISTS search_repositories_ai;
        DROP TRIGGER IF EXISTS search_repositories_ad;
        DROP TRIGGER IF EXISTS search_repositories_au;
        DROP TRIGGER IF EXISTS search_repositories_version_au;
        DROP TRIGGER IF EXISTS search_repositories_rank_au;
        DROP TRIGGER IF EXISTS search_repositories_mask_au;
        DROP TABLE IF EXISTS search_fts;
        DROP TABLE IF EXISTS search_meta;
        """;

    /// <summary>Everything <see cref="DropDerived"/> and <see cref="DropIndexes"/> remove, built from the rows.</summary>
    public const string CreateDerived = CreateIndexes + CreateFullText + PopulateFullText + CreateMeta + CreateTriggers;

    /// <summary>
    /// Version 1. A database file of the original Python registry (its <c>repository</c> table, used with
    /// the same setting) is imported; its table is left untouched so that the original can still use it.
    /// The rows table is created in its latest shape, since the import fills it with the current loader.
    /// </summary>
    internal static async Task CreateVersion1Async(
        SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct)
    {
        await connection.ExecuteAsync(new CommandDefinition("""
            CREATE TABLE search_repositories (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                description TEXT NOT NULL DEFAULT '',
                star_count INTEGER NOT NULL DEFAULT 0,
                name_lower TEXT NOT NULL,
                repo_lower TEXT NOT NULL,
                description_lower TEXT NOT NULL DEFAULT '',
                order_key INTEGER NOT NULL DEFAULT 0,
                name_mask INTEGER NOT NULL DEFAULT -1
            );
            CREATE TABLE search_short_terms (
                term TEXT NOT NULL PRIMARY KEY,
                n_any INTEGER NOT NULL,
                n_name INTEGER NOT NULL,
                n_prefix INTEGER NOT NULL
            ) WITHOUT ROWID;
            """, transaction: transaction, cancellationToken: ct));

        var original = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            SELECT count(*) FROM pragma_table_info('repository') WHERE name IN ('name', 'description')
            """, transaction: transaction, cancellationToken: ct));
        var imported = original == 2
            ? (await connection.QueryAsync<(string Name, string? Description)>(new CommandDefinition(
                "SELECT name, description FROM repository WHERE name IS NOT NULL",
                transaction: transaction, cancellationToken: ct)))
                .Select(row => new SearchEntry(row.Name, row.Description ?? ""))
                .ToList()
            : [];

        await SearchBulkLoader.LoadAsync(connection, transaction, imported, ct);
    }

    /// <summary>
    /// Version 2 added the row version (<see cref="CreateMeta"/>) and the partial index of described rows by
    /// rebuilding every derived structure; version 3 rebuilds them all again, so this step has nothing left to do.
    /// </summary>
    internal static Task RebuiltByVersion3Async(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct) =>
        Task.CompletedTask;

    /// <summary>
    /// Version 3 numbers the rows in result order (<see cref="OrderKeyGap"/>) and keys the full-text index and
    /// the ordering indexes by that number; a database that version 1 created before the column existed
    /// gains it first.
    /// </summary>
    internal static async Task AddOrderKeysAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct)
    {
        var hasColumn = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM pragma_table_info('search_repositories') WHERE name = 'order_key'",
            transaction: transaction, cancellationToken: ct));
        var addColumn = hasColumn == 0
            ? "ALTER TABLE search_repositories ADD COLUMN order_key INTEGER NOT NULL DEFAULT 0;"
            : "";
        // The indexes built here already include the mask column of version 4.
        await AddNameMaskColumnAsync(connection, transaction, ct);
        await connection.ExecuteAsync(new CommandDefinition(
            DropDerived + DropIndexes + addColumn + AssignOrderKeys + CreateDerived,
            transaction: transaction, cancellationToken: ct));
    }

    /// <summary>
    /// Version 4 stores each name's character mask (<see cref="NameMask"/>), computed here by the same code as
    /// every write, and puts it into the ordering index next to the key.
    /// </summary>
    internal static async Task AddNameMasksAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct)
    {
        await AddNameMaskColumnAsync(connection, transaction, ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "DROP INDEX IF EXISTS ix_search_order", transaction: transaction, cancellationToken: ct));
        var rows = (await connection.QueryAsync<(long Id, string NameLower)>(new CommandDefinition(
            "SELECT id, name_lower FROM search_repositories", transaction: transaction, cancellationToken: ct))).ToList();

        // One prepared statement reused for every row; Dapper would re-prepare per call.
        using (var update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = "UPDATE search_repositories SET name_mask = $mask WHERE id = $id";
            var mask = update.Parameters.Add("$mask", SqliteType.Integer);
            var id = update.Parameters.Add("$id", SqliteType.Integer);
            update.Prepare();
            foreach (var row in rows)
            {
                mask.Value = NameMask.Of(row.NameLower);
                id.Value = row.Id;
                update.ExecuteNonQuery();
            }
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "DROP TRIGGER IF EXISTS search_repositories_mask_au;" + CreateOrderIndex + """
            CREATE TRIGGER search_repositories_mask_au AFTER UPDATE OF name_lower ON search_repositories
                WHEN new.name_mask = old.name_mask AND new.name_mask <> -1 BEGIN
                UPDATE search_repositories SET name_mask = -1 WHERE id = new.id;
            END;
            UPDATE search_meta SET version = random() WHERE id = 0;
            """,
            transaction: transaction, cancellationToken: ct));
    }

    private static async Task AddNameMaskColumnAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct)
    {
        var hasColumn = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM pragma_table_info('search_repositories') WHERE name = 'name_mask'",
            transaction: transaction, cancellationToken: ct));
        if (hasColumn == 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "ALTER TABLE search_repositories ADD COLUMN name_mask INTEGER NOT NULL DEFAULT -1",
                transaction: transaction, cancellationToken: ct));
        }
    }
}
