using Registry.Index.Accounts.Bearer;
using Registry.Index.Database.Sqlite;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Sqlite;

public class SqliteRefreshTokensTests : RefreshTokensContract
{
    private TempDirectory _directory = null!;

    protected override async Task<IRefreshTokens> CreateStoreAsync()
    {
        _directory = new TempDirectory();
        return (await SqliteIndexDatabase.OpenAsync(_directory.File("index.db"), CancellationToken.None)).RefreshTokens;
    }

    protected override void DestroyStore() => _directory.Dispose();
}
