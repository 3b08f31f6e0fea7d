using Registry.Index.Database.Postgres;
using Registry.Index.Webhooks;

namespace Registry.Tests.Index.Database.Postgres;

public class PostgresRepositoryWebhooksTests : RepositoryWebhooksContract
{
    private PostgresIndexDatabase _database = null!;

    protected override async Task<IRepositoryWebhooks> CreateStoreAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync("webhooks");
        return _database.Webhooks;
    }

    protected override void DestroyStore() => _database?.Dispose();
}
