using Registry.Index.Search;
using Registry.Index.Database.Postgres;

namespace Registry.Tests.Index.Database.Postgres;

public class PostgresPrivateRepositoriesTests : PrivateRepositoriesContract
{
    private PostgresIndexDatabase _database = null!;

    protected override async Task<IPrivateRepositories> CreateStoreAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync("privaterepositories");
        return _database.PrivateRepositories;
    }

    protected override void DestroyStore() => _database?.Dispose();
}
