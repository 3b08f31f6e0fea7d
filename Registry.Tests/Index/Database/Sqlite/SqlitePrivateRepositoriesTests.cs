using Registry.Index.Search;
using Registry.Index.Database.Sqlite;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Sqlite;

public class SqlitePrivateRepositoriesTests : PrivateRepositoriesContract
{
    private SqliteTestDirectory _directory = null!;

    protected override async Task<IPrivateRepositories> CreateStoreAsync()
    {
        _directory = new SqliteTestDirectory();
        return (await SqliteIndexDatabase.OpenAsync(_directory.File("index.db"), CancellationToken.None)).PrivateRepositories;
    }

    protected override void DestroyStore() => _directory.Dispose();
}
