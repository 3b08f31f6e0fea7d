using Dapper;
using Microsoft.Data.Sqlite;
using Registry.Index.Database.Postgres;
using Registry.Index.Database.Sqlite;
using Registry.Index.Search;

namespace Registry.Bench.Search;

/// <summary>One engine's search index under benchmark, with how to size its database and how to clean up.</summary>
public sealed class BenchEngine(string name, ISearchIndex index, Func<Task<long>> size, Func<ValueTask> close) : IAsyncDisposable
{
    public string Name { get; } = name;

    public ISearchIndex Index { get; } = index;

    /// <summary>The database's size on disk in bytes.</summary>
    public Task<long> SizeAsync() => size();

    public ValueTask DisposeAsync() => close();

    /// <summary>A fresh SQLite index file (kept in <paramref name="keep"/> when given), its page cache off.</summary>
    public static async Task<BenchEngine> OpenSqliteAsync(int rows, string? keep)
    {
        var directory = keep is null
            ? Path.Combine(Path.GetTempPath(), $"search-bench-{Guid.NewGuid():N}")
            : Path.Combine(keep, $"search-{rows}");
        var index = await SqliteSearchIndex.OpenAsync(Path.Combine(directory, "index.db"), default);
        // Measure the search itself: the same query repeats with no write between, which the page cache would answer.
        index.CacheResults = false;
        return new BenchEngine("sqlite", index,
            () => Task.FromResult(Length(index.FilePath) + Length(index.FilePath + "-wal")),
            () =>
            {
                index.Dispose();
                SqliteConnection.ClearAllPools();
                if (keep is null && Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
                return ValueTask.CompletedTask;
            });
    }

    /// <summary>The PostgreSQL index database at <paramref name="url"/> (a SQLAlchemy URL), migrated to the latest version.</summary>
    public static async Task<BenchEngine> OpenPostgresAsync(string url)
    {
        var settings = PostgresUrl.Parse(url, Environment.GetEnvironmentVariable("PGPASSWORD"));
        var database = await PostgresIndexDatabase.OpenAsync(settings, default);
        var index = await database.OpenSearchIndexAsync(cacheResults: false, default);
        return new BenchEngine("postgres", index,
            async () =>
            {
                await using var connection = new Npgsql.NpgsqlConnection(settings.ToString());
                return await connection.ExecuteScalarAsync<long>("SELECT pg_database_size(current_database())");
            },
            database.DisposeAsync);
    }

    private static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;
}
