using Registry.Core.Configuration;
using Registry.Index.Database.Sqlite;
using Registry.Index.Search;

namespace Registry.Index.Database;

/// <summary>Opens the index database that the <c>sqlalchemy_index_database</c> setting names: the one place that picks the engine.</summary>
public static class IndexDatabase
{
    /// <summary>Opens and migrates the database; a relative file path is resolved against the working directory.</summary>
    public static async Task<IIndexDatabase> OpenAsync(RegistrySettings settings, CancellationToken ct) =>
        await SqliteIndexDatabase.OpenAsync(FilePath(settings), ct);

    /// <summary>For <c>reindex</c>: a corrupt or newer database is moved aside and a fresh one created.</summary>
    public static async Task RecreateAsync(RegistrySettings settings, CancellationToken ct) =>
        await SqliteIndexDatabase.RecreateAsync(FilePath(settings), ct);

    /// <summary>
    /// The index database (search, accounts, image membership): one <c>sqlalchemy_index_database</c> setting names
    /// everything the index keeps. A URL of another engine stops start-up naming the key and its variable.
    /// </summary>
    public static string FilePath(RegistrySettings settings)
    {
        // A server URL usually carries a password: the line names the variable, not its value.
        var hasCredentials = settings.SearchDatabase.Contains('@', StringComparison.Ordinal);
        var scheme = settings.SearchDatabase.Split("://", 2) is [var head, _] ? head.Split('+')[0].Trim() : "";
        if (scheme.Equals("postgresql", StringComparison.OrdinalIgnoreCase) || scheme.Equals("postgres", StringComparison.OrdinalIgnoreCase))
        {
            throw settings.Error("sqlalchemy_index_database",
                "PostgreSQL is not supported yet; use SQLite: sqlite:////absolute/path.db, sqlite:///relative/path.db or a plain file path",
                hideValue: hasCredentials);
        }

        try
        {
            return SearchDatabaseLocation.Parse(settings.SearchDatabase, Directory.GetCurrentDirectory());
        }
        catch (ArgumentException e)
        {
            throw settings.Error("sqlalchemy_index_database", e.Message.Replace(" (Parameter 'value')", "", StringComparison.Ordinal), hideValue: hasCredentials);
        }
    }
}
