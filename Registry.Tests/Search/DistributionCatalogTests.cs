using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Core.Storage;
using Registry.Index.Search;
using Registry.Tests.Support;

namespace Registry.Tests.Search;

/// <summary>The search catalog over the distribution layout: what a v2 repository is, and the walk order.</summary>
public class DistributionCatalogTests
{
    private static readonly Digest Manifest = Digest.Compute("sha256", "{}"u8);

    [Test]
    public async Task The_walk_finds_nested_repositories_in_catalog_order_and_skips_data_directories()
    {
        await using var registry = TestRegistry.Start();
        foreach (var name in new[] { "a-c", "a/b", "a", "b/c/d", "x/_uploads-not-a-repo" })
            await TagAsync(registry.Storage, name, "latest");
        await registry.Storage.PutContentAsync($"{DistributionPaths.RepositoryDir("noman")}/_layers/sha256/00/link", "x"u8.ToArray(), CancellationToken.None);

        var catalog = registry.Services.GetService(typeof(RepositoryCatalog)) as RepositoryCatalog;
        var names = new List<string>();
        await foreach (var name in catalog!.DistributionRepositoriesAsync(CancellationToken.None)) names.Add(name);

        names.Should().Equal("a", "a/b", "a-c", "b/c/d");
    }

    [Test]
    public async Task A_v2_repository_is_searchable_while_it_has_a_tag()
    {
        await using var registry = TestRegistry.Start();
        var catalog = (RepositoryCatalog)registry.Services.GetService(typeof(RepositoryCatalog))!;
        await TagAsync(registry.Storage, "hello-world", "latest");
        await catalog.SyncV2Async("hello-world", CancellationToken.None);

        var (status, body) = await registry.Client.GetAsync("/v1/search?q=hello").ReadAsync();
        status.Should().Be(200);
        body.Should().Contain("\"name\": \"hello-world\"");

        await registry.Storage.DeleteAsync(DistributionPaths.TagDir("hello-world", "latest"), CancellationToken.None);
        await catalog.SyncV2Async("hello-world", CancellationToken.None);
        (await registry.Client.GetAsync("/v1/search?q=hello").ReadAsync()).Body.Should().Contain("\"num_results\": 0");
    }

    [Test]
    public async Task Reindex_walks_both_layouts_and_counts_a_shared_name_once()
    {
        await using var registry = TestRegistry.Start();
        await TagAsync(registry.Storage, "team/app", "v1");
        await TagAsync(registry.Storage, "solo", "v1");
        await registry.Storage.PutContentAsync("repositories/team/app/tag_latest", "\"abc\""u8.ToArray(), CancellationToken.None);

        var catalog = (RepositoryCatalog)registry.Services.GetService(typeof(RepositoryCatalog))!;
        var entries = await catalog.RebuildAsync(CancellationToken.None);

        entries.Select(e => e.Name).Should().BeEquivalentTo("team/app", "solo");
        (await registry.Search.CountAsync(CancellationToken.None)).Should().Be(2);
    }

    private static async Task TagAsync(IStorageDriver storage, string name, string tag)
    {
        await storage.PutContentAsync(DistributionPaths.BlobData(Manifest), "{}"u8.ToArray(), CancellationToken.None);
        await DistributionLinks.WriteAsync(storage, DistributionPaths.RevisionLink(name, Manifest), Manifest, CancellationToken.None);
        await DistributionLinks.WriteAsync(storage, DistributionPaths.TagCurrentLink(name, tag), Manifest, CancellationToken.None);
    }
}
