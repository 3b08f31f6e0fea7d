using Registry.Index.Database;
using Registry.Index.Database.Sqlite;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Sqlite;

public class SqliteHubStoreTests : HubStoreContract
{
    private TempDirectory _directory = null!;

    protected override async Task<IIndexDatabase> CreateDatabaseAsync()
    {
        _directory = new TempDirectory();
        return await SqliteIndexDatabase.OpenAsync(_directory.File("index.db"), CancellationToken.None);
    }

    protected override void DestroyDatabase()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
