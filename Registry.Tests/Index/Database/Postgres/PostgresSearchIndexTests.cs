using Registry.Index.Database.Postgres;
using Registry.Index.Search;

namespace Registry.Tests.Index.Database.Postgres;

public class PostgresSearchIndexTests : SearchIndexContract
{
    private PostgresIndexDatabase _database = null!;

    protected override async Task<ISearchIndex> CreateIndexAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync("search");
        return await _database.OpenSearchIndexAsync(cacheResults: true, CancellationToken.None);
    }

    protected override void DestroyIndex() => _database?.Dispose();
}
