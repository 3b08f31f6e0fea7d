using Registry.Index.Accounts;
using Registry.Index.Database.Postgres;

namespace Registry.Tests.Index.Database.Postgres;

public class PostgresAccountStoreTests : AccountStoreContract
{
    private PostgresIndexDatabase _database = null!;

    protected override async Task<IAccountStore> CreateStoreAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync("accounts");
        return _database.Accounts;
    }

    protected override void DestroyStore() => _database?.Dispose();
}
