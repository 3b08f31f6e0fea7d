using Registry.Index.Database.Sqlite;
using Registry.Index.Webhooks;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Sqlite;

public class SqliteRepositoryWebhooksTests : RepositoryWebhooksContract
{
    private TempDirectory _directory = null!;

    protected override async Task<IRepositoryWebhooks> CreateStoreAsync()
    {
        _directory = new TempDirectory();
        return (await SqliteIndexDatabase.OpenAsync(_directory.File("index.db"), CancellationToken.None)).Webhooks;
    }

    protected override void DestroyStore() => _directory.Dispose();
}
