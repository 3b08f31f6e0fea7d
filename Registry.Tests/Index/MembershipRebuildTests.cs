using Registry.Tests.Support;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Database.Sqlite;
using Registry.Index.Repositories;
using Registry.Tests.Storage;

namespace Registry.Tests.Index;

/// <summary>The membership rebuild over a storage directory, through the one walker and the one ancestry reader.</summary>
public class MembershipRebuildTests
{
    private static readonly string Base = new('a', 64);
    private static readonly string Child = new('b', 64);
    private static readonly string Listed = new('c', 64);

    private TempDirectory _dir = null!;
    private FileSystemStorageDriver _storage = null!;
    private IRepositoryImages _membership = null!;

    [SetUp]
    public async Task SetUp()
    {
        _dir = new TempDirectory();
        _storage = new FileSystemStorageDriver(Path.Combine(_dir.Path, "storage"));
        _membership = (await SqliteIndexDatabase.OpenAsync(Path.Combine(_dir.Path, "index.db"), CancellationToken.None)).Images;
    }

    [TearDown]
    public void TearDown()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private Task Put(string path, string content) =>
        _storage.PutContentAsync(path, Encoding.UTF8.GetBytes(content), CancellationToken.None);

    [Test]
    public async Task Records_each_tag_with_its_ancestry_and_each_index_list_and_forgets_what_storage_no_longer_has()
    {
        // An image from a very old server: no ancestry file, only the json parent chain.
        await Put($"images/{Base}/json", $"{{\"id\": \"{Base}\"}}");
        await Put($"images/{Child}/json", $"{{\"id\": \"{Child}\", \"parent\": \"{Base}\"}}");
        await Put("repositories/library/app/tag_latest", Child);
        await Put("repositories/library/app/tag_latest_json", "{\"os\": \"linux\"}");
        await Put("repositories/alice/pushing/_index_images", $"[{{\"id\": \"{Listed}\"}}]");
        await Put("repositories/ns/x%zz/tag_latest", Child);
        await Put("repositories/library/empty/_description", "no tags, no list");
        await _membership.SetAsync("gone/repo", [Listed], CancellationToken.None);

        var repositories = await new MembershipRebuild(_storage, _membership).RunAsync(CancellationToken.None);

        repositories.Should().Be(2);
        (await _membership.RepositoriesOfAsync(Child, CancellationToken.None)).Should().Equal("library/app");
        (await _membership.RepositoriesOfAsync(Base, CancellationToken.None)).Should().Equal("library/app");
        (await _membership.RepositoriesOfAsync(Listed, CancellationToken.None)).Should().Equal("alice/pushing");
        (await _membership.CountAsync(CancellationToken.None)).Should().Be(3, "the unaddressable directory and the old record are not counted");
    }
}
