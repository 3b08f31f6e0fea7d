using Registry.Index.Database.Sqlite;
using Registry.Index.Search;

namespace Registry.Index.Database;

/// <summary>Opens the index database that the <c>sqlalchemy_index_database</c> setting names.</summary>
public static class IndexDatabase
{
    /// <summary>
    /// Opens and migrates the database; a relative file path is resolved against <paramref name="workingDirectory"/>.
    /// SQLite is the one engine so far (<see cref="SearchDatabaseLocation"/> refuses other URLs).
    /// </summary>
    public static async Task<IIndexDatabase> OpenAsync(string setting, string workingDirectory, CancellationToken ct) =>
        await SqliteIndexDatabase.OpenAsync(SearchDatabaseLocation.Parse(setting, workingDirectory), ct);
}
