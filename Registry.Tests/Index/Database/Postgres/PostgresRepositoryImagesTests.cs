using Registry.Index.Accounts;
using Registry.Index.Database.Postgres;

namespace Registry.Tests.Index.Database.Postgres;

public class PostgresRepositoryImagesTests : RepositoryImagesContract
{
    private PostgresIndexDatabase _database = null!;

    protected override async Task<IRepositoryImages> CreateStoreAsync()
    {
        _database = await PostgresTestDatabase.CreateAsync("images");
        return _database.Images;
    }

    protected override void DestroyStore() => _database?.Dispose();
}
