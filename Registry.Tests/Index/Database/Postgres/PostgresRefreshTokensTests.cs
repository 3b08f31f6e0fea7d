using Registry.Index.Accounts.Bearer;
using Registry.Index.Database.Postgres;

namespace Registry.Tests.Index.Database.Postgres;

public class PostgresRefreshTokensTests : RefreshTokensContract
{
    private PostgresIndexDatabase _database = null!;

    protected override async Task<IRefreshTokens> CreateStoreAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync("refresh");
        return _database.RefreshTokens;
    }

    protected override void DestroyStore() => _database?.Dispose();
}
