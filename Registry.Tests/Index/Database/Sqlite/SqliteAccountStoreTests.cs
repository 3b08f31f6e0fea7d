using Registry.Index.Accounts;
using Registry.Index.Database.Sqlite;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Sqlite;

public class SqliteAccountStoreTests : AccountStoreContract
{
    private SqliteTestDirectory _directory = null!;

    protected override async Task<IAccountStore> CreateStoreAsync()
    {
        _directory = new SqliteTestDirectory();
        return (await SqliteIndexDatabase.OpenAsync(_directory.File("index.db"), CancellationToken.None)).Accounts;
    }

    protected override void DestroyStore() => _directory.Dispose();
}
