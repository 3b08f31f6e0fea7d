using Dapper;
using Microsoft.Data.Sqlite;

namespace Registry.Index.Search;

/// <summary>
/// The search database layout and its migrations. <c>PRAGMA user_version</c> records the applied version;
/// migrations run in order, in one write transaction, when the index is opened.
/// </summary>
internal static class SearchSchema
{
    /// <summary>
    /// Secondary indexes. The ordering index covers every column the name filters read, so a walk in result
    /// order for a frequent term never touches the table; the prefix indexes carry the sort keys for the
    /// same reason. Only a described row can match by its description alone, so the walk for that tier
    /// uses a partial ordering index of the described rows (a fraction of all rows in a public registry).
    /// </summary>
    public const string CreateIndexes = """
        CREATE INDEX ix_search_order ON search_repositories(star_count DESC, name, name_lower, repo_lower);
        CREATE INDEX ix_search_described ON search_repositories(star_count DESC, name, name_lower, description_lower)
            WHERE description_lower <> '';
        CREATE INDEX ix_search_name_lower ON search_repositories(name_lower, star_count, name, repo_lower);
        CREATE INDEX ix_search_repo_lower ON search_repositories(repo_lower, star_count, name);
        """;

    public const string DropIndexes = """
        DROP INDEX IF EXISTS ix_search_order;
        DROP INDEX IF EXISTS ix_search_described;
        DROP INDEX IF EXISTS ix_search_name_lower;
        DROP INDEX IF EXISTS ix_search_repo_lower;
        """;

    /// <summary>
    /// Trigram full-text index over the lower-cased name and description. Contentless (the table holds the
    /// text) with contentless_delete so that rows can be deleted by rowid; case_sensitive 1 because the
    /// text is already lower-cased by .NET, so FTS5's own folding could only disagree with it.
    /// </summary>
    public const string CreateFullText = """
        CREATE VIRTUAL TABLE search_fts USING fts5(
            name_t, desc_t, content='', contentless_delete=1, tokenize='trigram case_sensitive 1');
        """;

    public const string PopulateFullText = """
        INSERT INTO search_fts(rowid, name_t, desc_t)
        SELECT id, name_lower, description_lower FROM search_repositories;
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

    public const string CreateTriggers = """
        CREATE TRIGGER search_repositories_ai AFTER INSERT ON search_repositories BEGIN
            INSERT INTO search_fts(rowid, name_t, desc_t) VALUES (new.id, new.name_lower, new.description_lower);
            UPDATE search_meta SET version = random() WHERE id = 0;
        END;
        CREATE TRIGGER search_repositories_ad AFTER DELETE ON search_repositories BEGIN
            DELETE FROM search_fts WHERE rowid = old.id;
            UPDATE search_meta SET version = random() WHERE id = 0;
        END;
        CREATE TRIGGER search_repositories_au AFTER UPDATE OF name_lower, description_lower ON search_repositories BEGIN
            DELETE FROM search_fts WHERE rowid = old.id;
            INSERT INTO search_fts(rowid, name_t, desc_t) VALUES (new.id, new.name_lower, new.description_lower);
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
        DROP TABLE IF EXISTS search_fts;
        DROP TABLE IF EXISTS search_meta;
        """;

    /// <summary>Everything <see cref="DropDerived"/> and <see cref="DropIndexes"/> remove, built from the rows.</summary>
    public const string CreateDerived = CreateIndexes + CreateFullText + PopulateFullText + CreateMeta + CreateTriggers;

    public static int LatestVersion => Migrations.Length;

    /// <summary>Migration i brings the database from version i to version i + 1.</summary>
    private static readonly Func<SqliteConnection, SqliteTransaction, CancellationToken, Task>[] Migrations =
    [
        CreateVersion1Async,
        RebuildDerivedAsync,
    ];

    public static async Task MigrateAsync(SqliteConnection connection, string filePath, CancellationToken ct)
    {
        var version = await connection.ExecuteScalarAsync<int>(
            new CommandDefinition("PRAGMA user_version", cancellationToken: ct));
        if (version == LatestVersion)
        {
            return;
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        version = await connection.ExecuteScalarAsync<int>(
            new CommandDefinition("PRAGMA user_version", transaction: transaction, cancellationToken: ct));
        if (version > LatestVersion)
        {
            throw new SearchIndexException(filePath, SearchIndexFailure.NewerVersion,
                $"The search index database '{filePath}' has schema version {version}, newer than this " +
                $"registry understands ({LatestVersion}). Upgrade the registry, or delete the file or run " +
                "the 'reindex' verb to rebuild it from storage.");
        }

        for (; version < LatestVersion; version++)
        {
            await Migrations[version](connection, transaction, ct);
        }

        // PRAGMA takes no parameters; the value is our own integer.
        await connection.ExecuteAsync(new CommandDefinition(
            $"PRAGMA user_version = {LatestVersion}", transaction: transaction, cancellationToken: ct));
        transaction.Commit();
    }

    /// <summary>
    /// Version 1. A database file of the original Python registry (its <c>repository</c> table, used with
    /// the same setting) is imported; its table is left untouched so that the original can still use it.
    /// </summary>
    private static async Task CreateVersion1Async(
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
                description_lower TEXT NOT NULL DEFAULT ''
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
    /// Version 2 adds the row version (<see cref="CreateMeta"/>) and the partial index of described rows, and
    /// narrows the ordering index; rebuilding every derived structure from the rows does all three (and
    /// leaves the full-text index merged).
    /// </summary>
    private static Task RebuildDerivedAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(
            DropDerived + DropIndexes + CreateDerived, transaction: transaction, cancellationToken: ct));
}
