using Registry.Index.Accounts;
using Registry.Index.Database.Postgres;

namespace Registry.Tests.Index.Database.Postgres;

public class PostgresAccessTokensTests : AccessTokenStoreContract
{
    private PostgresIndexDatabase _database = null!;

    protected override async Task<IAccessTokenStore> CreateStoreAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync("tokens");
        return _database.AccessTokens;
    }

    protected override void DestroyStore() => _database?.Dispose();
}
