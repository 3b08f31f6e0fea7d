using Dapper;
using Microsoft.Data.Sqlite;
using Registry.Index.Search;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// The one ordered list of schema versions of the SQLite index database, for every table in the file. The
/// version reached is recorded in <see cref="IndexMigration.VersionTable"/>; migrations run in order, in one
/// write transaction, when the database is opened.
/// </summary>
internal static class SqliteMigrations
{
    /// <summary>
    /// Before the version table, the search tables alone recorded their version (1 to 4, the first four
    /// steps here) in <c>PRAGMA user_version</c>, and the other tables had none. A file without the version
    /// table is at that version; the pragma stays at 4 so that a registry from before the table still opens
    /// the file, and anything larger was written by a newer registry.
    /// </summary>
    internal const int UserVersion = 4;

    public static readonly IReadOnlyList<IndexMigration<SqliteConnection, SqliteTransaction>> All =
        IndexMigration<SqliteConnection, SqliteTransaction>.Ordered(
            new(1, "search rows and short-term counts, imported from the original registry's repository table", SearchSchema.CreateVersion1Async),
            new(2, "search row version (rebuilt by version 3)", SearchSchema.RebuiltByVersion3Async),
            new(3, "search order keys", SearchSchema.AddOrderKeysAsync),
            new(4, "search name masks", SearchSchema.AddNameMasksAsync),
            new(5, "accounts", CreateAccountsAsync),
            new(6, "image membership", CreateImageRepositoriesAsync),
            new(7, "private repositories", CreatePrivateRepositoriesAsync),
            new(8, "repository webhooks", CreateWebhooksAsync),
            new(9, "stars and comments", CreateHubAsync),
            new(10, "access tokens", CreateAccessTokensAsync),
            new(11, "refresh tokens", (c, t, ct) => c.ExecuteAsync(new CommandDefinition(SqliteRefreshTokens.Schema, transaction: t, cancellationToken: ct))),
            // Filled from storage in the background by the first start that uses it (DistributionCatalog).
            new(12, "catalog names", (c, t, ct) => c.ExecuteAsync(new CommandDefinition(SqliteDistributionNames.Schema, transaction: t, cancellationToken: ct))));

    public static int LatestVersion => All.Count;

    public static async Task MigrateAsync(SqliteConnection connection, string filePath, CancellationToken ct)
    {
        var (version, userVersion) = await ReadVersionAsync(connection, null, ct);
        if (version == LatestVersion && userVersion <= UserVersion)
        {
            return;
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        (version, userVersion) = await ReadVersionAsync(connection, transaction, ct);
        if (version > LatestVersion || userVersion > UserVersion)
        {
            var newer = version > LatestVersion ? version : userVersion;
            throw new SearchIndexException(filePath, SearchIndexFailure.NewerVersion,
                $"The search index database '{filePath}' has schema version {newer}, newer than this " +
                $"registry understands ({LatestVersion}). Upgrade the registry, or delete the file or run " +
                "the 'reindex' verb to rebuild it from storage.");
        }

        for (; version < LatestVersion; version++)
        {
            await All[(int)version].ApplyAsync(connection, transaction, ct);
        }

        // PRAGMA takes no parameters; the value is our own integer.
        await connection.ExecuteAsync(new CommandDefinition($"""
            CREATE TABLE IF NOT EXISTS {IndexMigration.VersionTable} (
                id      INTEGER PRIMARY KEY CHECK (id = 0),
                version INTEGER NOT NULL
            );
            INSERT INTO {IndexMigration.VersionTable} (id, version) VALUES (0, @LatestVersion)
                ON CONFLICT (id) DO UPDATE SET version = excluded.version;
            PRAGMA user_version = {UserVersion};
            """, new { LatestVersion }, transaction, cancellationToken: ct));
        transaction.Commit();
    }

    /// <summary>The recorded version (from the version table, else the pragma) and the pragma.</summary>
    private static async Task<(long Version, long UserVersion)> ReadVersionAsync(
        SqliteConnection connection, SqliteTransaction? transaction, CancellationToken ct)
    {
        var userVersion = await connection.ExecuteScalarAsync<long>(
            new CommandDefinition("PRAGMA user_version", transaction: transaction, cancellationToken: ct));
        var hasTable = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = @VersionTable",
            new { IndexMigration.VersionTable }, transaction, cancellationToken: ct)) > 0;
        var version = hasTable
            ? await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                $"SELECT coalesce(max(version), 0) FROM {IndexMigration.VersionTable}", transaction: transaction, cancellationToken: ct))
            : userVersion;
        return (version, userVersion);
    }

    /// <summary>
    /// Version 5: accounts (<see cref="SqliteAccountStore"/>). A file from before the version table may hold the
    /// table already, so every table of versions 5 to 7 is created only when absent.
    /// </summary>
    private static Task CreateAccountsAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            CREATE TABLE IF NOT EXISTS registry_accounts (
                username      TEXT PRIMARY KEY NOT NULL,
                email         TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created       INTEGER NOT NULL
            );
            CREATE UNIQUE INDEX IF NOT EXISTS registry_accounts_email ON registry_accounts (email) WHERE email <> '';
            """, transaction: transaction, cancellationToken: ct));

    /// <summary>Version 6: which repositories list an image (<see cref="SqliteRepositoryImages"/>).</summary>
    private static Task CreateImageRepositoriesAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            CREATE TABLE IF NOT EXISTS registry_image_repositories (
                image_id   TEXT NOT NULL,
                repository TEXT NOT NULL,
                PRIMARY KEY (image_id, repository)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS registry_image_repositories_repo ON registry_image_repositories (repository);
            """, transaction: transaction, cancellationToken: ct));

    /// <summary>Version 7: private repositories, searched apart (<see cref="SqlitePrivateRepositories"/>).</summary>
    private static Task CreatePrivateRepositoriesAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            CREATE TABLE IF NOT EXISTS registry_private_repositories (
                name              TEXT PRIMARY KEY NOT NULL,
                namespace         TEXT NOT NULL,
                description       TEXT NOT NULL,
                name_lower        TEXT NOT NULL,
                description_lower TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS registry_private_repositories_ns ON registry_private_repositories (namespace);
            """, transaction: transaction, cancellationToken: ct));

    private static Task CreateWebhooksAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            CREATE TABLE IF NOT EXISTS registry_webhooks (
                id         INTEGER PRIMARY KEY AUTOINCREMENT,
                repository TEXT NOT NULL,
                url        TEXT NOT NULL,
                created    INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS registry_webhooks_repository ON registry_webhooks (repository);
            """, transaction: transaction, cancellationToken: ct));

    /// <summary>
    /// Version 9: stars and comments of repositories (<see cref="SqliteHubStore"/>). Created only when absent, as the
    /// versions before: a file whose version table was lost re-runs every step from its pragma version.
    /// </summary>
    private static Task CreateHubAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            CREATE TABLE IF NOT EXISTS registry_stars (
                repository TEXT NOT NULL,
                username   TEXT NOT NULL,
                created    INTEGER NOT NULL,
                PRIMARY KEY (repository, username)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS registry_stars_user ON registry_stars (username, created);
            CREATE TABLE IF NOT EXISTS registry_comments (
                id         INTEGER PRIMARY KEY AUTOINCREMENT,
                repository TEXT NOT NULL,
                username   TEXT NOT NULL,
                body       TEXT NOT NULL,
                created    INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS registry_comments_repository ON registry_comments (repository, id);
            """, transaction: transaction, cancellationToken: ct));

    /// <summary>Version 10: users' access tokens (<see cref="SqliteAccessTokens"/>), found by the hash of their secret.</summary>
    private static Task CreateAccessTokensAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            CREATE TABLE IF NOT EXISTS registry_access_tokens (
                id          TEXT PRIMARY KEY NOT NULL,
                username    TEXT NOT NULL,
                name        TEXT NOT NULL,
                scopes      TEXT NOT NULL,
                secret_hash TEXT NOT NULL UNIQUE,
                created     INTEGER NOT NULL,
                expires     INTEGER,
                last_used   INTEGER,
                UNIQUE (username, name)
            );
            """, transaction: transaction, cancellationToken: ct));
}
