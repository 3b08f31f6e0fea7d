using Registry.Index.Accounts;
using Registry.Index.Database.Sqlite;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Sqlite;

public class SqliteAccessTokensTests : AccessTokenStoreContract
{
    private TempDirectory _directory = null!;

    protected override async Task<IAccessTokenStore> CreateStoreAsync()
    {
        _directory = new TempDirectory();
        return (await SqliteIndexDatabase.OpenAsync(_directory.File("index.db"), CancellationToken.None)).AccessTokens;
    }

    protected override void DestroyStore() => _directory.Dispose();
}
