using Registry.Index.Database;
using Registry.Index.Database.Postgres;

namespace Registry.Tests.Index.Database.Postgres;

public class PostgresHubStoreTests : HubStoreContract
{
    private PostgresIndexDatabase _database = null!;

    protected override async Task<IIndexDatabase> CreateDatabaseAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync("hub");
        return _database;
    }

    protected override void DestroyDatabase() => _database?.Dispose();
}
