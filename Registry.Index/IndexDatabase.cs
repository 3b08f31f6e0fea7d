using Dapper;
using Microsoft.Data.Sqlite;

namespace Registry.Index;

/// <summary>
/// Connections to the index database (the <c>sqlalchemy_index_database</c> file) for the small tables kept
/// beside the search index: accounts, image membership, private repositories.
/// </summary>
internal static class IndexDatabase
{
    public static string ConnectionString(string databasePath) => new SqliteConnectionStringBuilder
    {
        DataSource = databasePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = 10,
    }.ToString();

    /// <summary>An open connection that waits up to 10 s for another writer instead of failing.</summary>
    public static async Task<SqliteConnection> OpenAsync(string connectionString, CancellationToken ct)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA busy_timeout = 10000", cancellationToken: ct));
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
