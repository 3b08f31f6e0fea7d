using Dapper;
using Microsoft.Data.Sqlite;

namespace Registry.Tests.Support;

/// <summary>Raw SQL against a SQLite file, outside the stores: to inspect a schema or fake one from an older version.</summary>
internal static class SqliteFile
{
    public static async Task<T> ScalarAsync<T>(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path}");
        return (await connection.ExecuteScalarAsync<T>(sql))!;
    }

    public static async Task ExecuteAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.ExecuteAsync(sql);
    }
}
