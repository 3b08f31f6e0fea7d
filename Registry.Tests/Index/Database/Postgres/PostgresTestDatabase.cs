using Npgsql;
using Registry.Index.Database.Postgres;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Postgres;

/// <summary>A fresh database of its own on the run's shared PostgreSQL server, opened and migrated.</summary>
internal static class PostgresTestDatabase
{
    public static async Task<PostgresIndexDatabase> CreateAsync(string purpose)
    {
        var server = await PostgresServer.SharedAsync();
        var name = await server.CreateDatabaseAsync(purpose);
        return await PostgresIndexDatabase.OpenAsync(new NpgsqlConnectionStringBuilder(server.ConnectionString(name)), CancellationToken.None);
    }
}
