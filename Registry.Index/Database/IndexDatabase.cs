using Npgsql;
using Registry.Core.Configuration;
using Registry.Index.Database.Postgres;
using Registry.Index.Database.Sqlite;
using Registry.Index.Search;

namespace Registry.Index.Database;

/// <summary>Opens the index database that the <c>sqlalchemy_index_database</c> setting names: the one place that picks the engine.</summary>
public static class IndexDatabase
{
    private const string Key = "sqlalchemy_index_database";

    /// <summary>
    /// Opens and migrates the database: PostgreSQL for a <c>postgresql://</c> URL (any SQLAlchemy driver), else an
    /// SQLite file, a relative path resolved against the working directory. A PostgreSQL server that cannot be
    /// reached or refuses the login stops start-up with one line naming the key, the password masked.
    /// </summary>
    public static async Task<IIndexDatabase> OpenAsync(RegistrySettings settings, CancellationToken ct) =>
        PostgresUrl.IsPostgres(settings.SearchDatabase) ? await OpenPostgresAsync(settings, ct) : await SqliteIndexDatabase.OpenAsync(Describe(settings), ct);

    // Apart from OpenAsync so that compiling it does not load Npgsql for an SQLite index (issue 18: idle RSS).
    private static async Task<IIndexDatabase> OpenPostgresAsync(RegistrySettings settings, CancellationToken ct)
    {
        try
        {
            return await PostgresIndexDatabase.OpenAsync(PostgresSettings(settings), ct);
        }
        catch (SearchIndexException e) when (e.Failure == SearchIndexFailure.CannotOpen)
        {
            var reason = (e.InnerException?.Message ?? e.Message).ReplaceLineEndings(" ");
            throw settings.Error(Key, $"cannot open the PostgreSQL database {PostgresUrl.Masked(settings.SearchDatabase)}: {reason}", hideValue: true);
        }
    }

    /// <summary>
    /// For <c>reindex</c>: a corrupt or newer SQLite file is moved aside and a fresh one created. A PostgreSQL
    /// database is only opened (and migrated): its content is replaced by the rebuild.
    /// </summary>
    public static async Task RecreateAsync(RegistrySettings settings, CancellationToken ct)
    {
        if (!PostgresUrl.IsPostgres(settings.SearchDatabase))
        {
            await SqliteIndexDatabase.RecreateAsync(Describe(settings), ct);
            return;
        }

        if (await OpenAsync(settings, ct) is IAsyncDisposable database) await database.DisposeAsync();
    }

    /// <summary>
    /// Where the index database (search, accounts, image membership) is, for messages and the SQLite engine: the
    /// file path of SQLite, the URL with its password masked of PostgreSQL. A URL of another engine stops
    /// start-up naming the key and its variable.
    /// </summary>
    public static string Describe(RegistrySettings settings)
    {
        // A server URL usually carries a password: the line names the variable, not its value.
        var hasCredentials = settings.SearchDatabase.Contains('@', StringComparison.Ordinal);
        if (PostgresUrl.IsPostgres(settings.SearchDatabase)) return PostgresUrl.Masked(settings.SearchDatabase);

        try
        {
            return SearchDatabaseLocation.Parse(settings.SearchDatabase, Directory.GetCurrentDirectory());
        }
        catch (ArgumentException e)
        {
            throw settings.Error(Key, e.Message.Replace(" (Parameter 'value')", "", StringComparison.Ordinal), hideValue: hasCredentials);
        }
    }

    /// <summary>The Npgsql settings of a PostgreSQL URL (password from the URL or <c>PGPASSWORD</c>).</summary>
    private static NpgsqlConnectionStringBuilder PostgresSettings(RegistrySettings settings)
    {
        try
        {
            return PostgresUrl.Parse(settings.SearchDatabase, Environment.GetEnvironmentVariable("PGPASSWORD"));
        }
        catch (ArgumentException e)
        {
            throw settings.Error(Key, e.Message.Replace(" (Parameter 'url')", "", StringComparison.Ordinal), hideValue: true);
        }
    }
}
