using Npgsql;
using Registry.Index.Database.Postgres;
using Registry.Index.Search;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Postgres;

public class PostgresSearchIndexTests : SearchIndexContract
{
    private PostgresIndexDatabase _database = null!;
    private PostgresIndexDatabase? _second;
    private NpgsqlConnectionStringBuilder _settings = null!;

    protected override async Task<ISearchIndex> CreateIndexAsync()
    {
        var server = await PostgresServer.SharedAsync();
        _settings = new NpgsqlConnectionStringBuilder(server.ConnectionString(await server.CreateDatabaseAsync("search")));
        _database = await PostgresIndexDatabase.OpenAsync(_settings, CancellationToken.None);
        return await _database.OpenSearchIndexAsync(cacheResults: true, CancellationToken.None);
    }

    /// <remarks>A database object of its own, as another registry instance has: its own pool and caches.</remarks>
    protected override async Task<ISearchIndex> OpenSecondInstanceAsync()
    {
        _second = await PostgresIndexDatabase.OpenAsync(_settings, CancellationToken.None);
        return await _second.OpenSearchIndexAsync(cacheResults: true, CancellationToken.None);
    }

    protected override void DestroyIndex()
    {
        _second?.Dispose();
        _second = null;
        _database?.Dispose();
    }
}
