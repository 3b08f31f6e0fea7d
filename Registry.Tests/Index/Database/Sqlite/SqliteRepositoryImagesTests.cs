using Registry.Index.Accounts;
using Registry.Index.Database.Sqlite;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Sqlite;

public class SqliteRepositoryImagesTests : RepositoryImagesContract
{
    private SqliteTestDirectory _directory = null!;

    protected override async Task<IRepositoryImages> CreateStoreAsync()
    {
        _directory = new SqliteTestDirectory();
        return (await SqliteIndexDatabase.OpenAsync(_directory.File("index.db"), CancellationToken.None)).Images;
    }

    protected override void DestroyStore() => _directory.Dispose();
}
