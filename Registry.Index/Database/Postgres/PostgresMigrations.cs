using Dapper;
using Npgsql;
using Registry.Index.Search;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// The one ordered list of schema versions of the PostgreSQL index database. The version reached is recorded in
/// <see cref="IndexMigration.VersionTable"/>. Migrations run in one transaction that first takes a
/// transaction-level advisory lock, so that several registry instances starting together against one database
/// migrate it once, one after the other (PostgreSQL manual, "Advisory Locks", section 13.3.5).
/// </summary>
internal static class PostgresMigrations
{
    /// <summary>The advisory lock key of the migrations: "registry" in ASCII, so that other applications do not collide by accident.</summary>
    internal const long MigrationLockKey = 0x7265676973747279;

    public static readonly IReadOnlyList<IndexMigration<NpgsqlConnection, NpgsqlTransaction>> All =
        IndexMigration<NpgsqlConnection, NpgsqlTransaction>.Ordered(
            new(1, "accounts", (c, t, ct) => ExecuteAsync(c, t, ct, """
                CREATE TABLE registry_accounts (
                    username      text PRIMARY KEY,
                    email         text NOT NULL,
                    password_hash text NOT NULL,
                    created       bigint NOT NULL
                );
                CREATE UNIQUE INDEX registry_accounts_email ON registry_accounts (email) WHERE email <> '';
                """)),
            new(2, "image membership", (c, t, ct) => ExecuteAsync(c, t, ct, """
                CREATE TABLE registry_image_repositories (
                    image_id   text NOT NULL,
                    repository text NOT NULL,
                    PRIMARY KEY (image_id, repository)
                );
                CREATE INDEX registry_image_repositories_repo ON registry_image_repositories (repository);
                """)),
            new(3, "private repositories", (c, t, ct) => ExecuteAsync(c, t, ct, """
                CREATE TABLE registry_private_repositories (
                    name              text PRIMARY KEY,
                    namespace         text NOT NULL,
                    description       text NOT NULL,
                    name_lower        text NOT NULL,
                    repo_lower        text NOT NULL,
                    description_lower text NOT NULL
                );
                CREATE INDEX registry_private_repositories_ns ON registry_private_repositories (namespace);
                """)),
            // The lower-cased copies are made by .NET (ToLowerInvariant), as the queries' terms are: PostgreSQL's
            // lower() folds only ASCII under the C locale, and differs between locales otherwise.
            new(4, "search rows with trigram indexes for substring search", (c, t, ct) => ExecuteAsync(c, t, ct, """
                CREATE EXTENSION IF NOT EXISTS pg_trgm;
                CREATE TABLE search_repositories (
                    name              text PRIMARY KEY,
                    description       text NOT NULL,
                    star_count        integer NOT NULL DEFAULT 0,
                    name_lower        text NOT NULL,
                    repo_lower        text NOT NULL,
                    description_lower text NOT NULL
                );
                CREATE INDEX search_repositories_name_trgm ON search_repositories USING gin (name_lower gin_trgm_ops);
                CREATE INDEX search_repositories_description_trgm ON search_repositories USING gin (description_lower gin_trgm_ops);
                """)),
            new(5, "search order indexes and the generation of the search rows", (c, t, ct) => ExecuteAsync(c, t, ct, PostgresSearchSchema.Version5)),
            // Shared by every instance: the garbage collections running (a stale heartbeat is a dead instance's run),
            // what writers touched during each, and failed logins per client address (PostgresCoordination). No
            // foreign key from touches to runs: a run that ends while a writer records for it must not fail the writer.
            new(6, "cluster coordination: collection runs, touched ids, failed logins", (c, t, ct) => ExecuteAsync(c, t, ct, """
                CREATE TABLE registry_gc_runs (
                    run_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    started   timestamptz NOT NULL DEFAULT now(),
                    heartbeat timestamptz NOT NULL DEFAULT now()
                );
                CREATE TABLE registry_gc_touched (
                    run_id bigint NOT NULL,
                    key    text NOT NULL,
                    seq    bigint GENERATED ALWAYS AS IDENTITY,
                    PRIMARY KEY (run_id, key)
                );
                CREATE INDEX registry_gc_touched_seq ON registry_gc_touched (run_id, seq);
                CREATE TABLE registry_login_failures (
                    address      text PRIMARY KEY,
                    window_start timestamptz NOT NULL,
                    failures     integer NOT NULL
                );
                CREATE INDEX registry_login_failures_window ON registry_login_failures (window_start);
                """)),
            new(7, "search change log and change notifications", (c, t, ct) => ExecuteAsync(c, t, ct, PostgresSearchSchema.Version7)),
            new(8, "sort keys in the search change log", (c, t, ct) => ExecuteAsync(c, t, ct, PostgresSearchSchema.Version8)),
            new(9, "repository webhooks", (c, t, ct) => ExecuteAsync(c, t, ct, """
                CREATE TABLE registry_webhooks (
                    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    repository text NOT NULL,
                    url        text NOT NULL,
                    created    bigint NOT NULL
                );
                CREATE INDEX registry_webhooks_repository ON registry_webhooks (repository);
                """)),
            new(10, "stars and comments", (c, t, ct) => ExecuteAsync(c, t, ct, """
                CREATE TABLE registry_stars (
                    repository text NOT NULL,
                    username   text NOT NULL,
                    created    bigint NOT NULL,
                    PRIMARY KEY (repository, username)
                );
                CREATE INDEX registry_stars_user ON registry_stars (username, created);
                CREATE TABLE registry_comments (
                    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    repository text NOT NULL,
                    username   text NOT NULL,
                    body       text NOT NULL,
                    created    bigint NOT NULL
                );
                CREATE INDEX registry_comments_repository ON registry_comments (repository, id);
                """)),
            new(11, "access tokens", (c, t, ct) => ExecuteAsync(c, t, ct, """
                CREATE TABLE registry_access_tokens (
                    id          text PRIMARY KEY,
                    username    text NOT NULL,
                    name        text NOT NULL,
                    scopes      text NOT NULL,
                    secret_hash text NOT NULL UNIQUE,
                    created     bigint NOT NULL,
                    expires     bigint,
                    last_used   bigint,
                    UNIQUE (username, name)
                );
                """)),
            new(12, "refresh tokens", (c, t, ct) => ExecuteAsync(c, t, ct, PostgresRefreshTokens.Schema)),
            // Filled from storage in the background by the first start that uses it (DistributionCatalog).
            new(13, "catalog names", (c, t, ct) => ExecuteAsync(c, t, ct, PostgresDistributionNames.Schema)));

    public static int LatestVersion => All.Count;

    public static async Task MigrateAsync(NpgsqlConnection connection, string location, CancellationToken ct)
    {
        if (await ReadVersionAsync(connection, null, ct) == LatestVersion) return;

        await using var transaction = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@MigrationLockKey)", new { MigrationLockKey }, transaction, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition($"""
            CREATE TABLE IF NOT EXISTS {IndexMigration.VersionTable} (
                id      integer PRIMARY KEY CHECK (id = 0),
                version integer NOT NULL
            )
            """, transaction: transaction, cancellationToken: ct));
        // Read again under the lock: another instance may have migrated while this one waited.
        var version = await ReadVersionAsync(connection, transaction, ct);
        if (version > LatestVersion)
        {
            throw new SearchIndexException(location, SearchIndexFailure.NewerVersion,
                $"The index database '{location}' has schema version {version}, newer than this registry understands " +
                $"({LatestVersion}). Upgrade the registry.");
        }

        for (; version < LatestVersion; version++)
        {
            await All[version].ApplyAsync(connection, transaction, ct);
        }

        await connection.ExecuteAsync(new CommandDefinition($"""
            INSERT INTO {IndexMigration.VersionTable} (id, version) VALUES (0, @LatestVersion)
                ON CONFLICT (id) DO UPDATE SET version = excluded.version
            """, new { LatestVersion }, transaction, cancellationToken: ct));
        await transaction.CommitAsync(ct);
    }

    private static async Task<int> ReadVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken ct)
    {
        var hasTable = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT to_regclass(@VersionTable) IS NOT NULL", new { IndexMigration.VersionTable }, transaction, cancellationToken: ct));
        return hasTable
            ? await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                $"SELECT coalesce(max(version), 0) FROM {IndexMigration.VersionTable}", transaction: transaction, cancellationToken: ct))
            : 0;
    }

    private static Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken ct, string sql) =>
        connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, cancellationToken: ct));
}
