using System.Diagnostics;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Database;
using Registry.Index.Search;
using Registry.Tests.Cluster;
using Registry.Tests.Support;

namespace Registry.Tests.Catalog;

/// <summary>
/// <c>GET /v2/_catalog</c> served from the index database (<c>catalog_from_index</c>) on both engines, through HTTP
/// against the real app: after the registry's own writes, storage changed behind its back and a first start on existing
/// data, its pages (bodies and <c>Link</c>s) are those of the storage walk, and the table holds exactly what the walk finds.
/// </summary>
[TestFixture("sqlite")]
[TestFixture("postgresql")]
public class IndexCatalogTests(string engine)
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);

    private async Task<Dictionary<string, string>> EnvAsync(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string> { ["CATALOG_FROM_INDEX"] = "true", ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true" };
        if (engine == "postgresql")
        {
            var server = await PostgresServer.SharedAsync();
            env["SQLALCHEMY_INDEX_DATABASE"] = server.Url(await server.CreateDatabaseAsync("catalog"));
        }
        foreach (var (key, value) in extra) env[key] = value;
        return env;
    }

    [Test]
    public async Task After_pushes_tags_deletes_untagged_and_private_repositories_and_gc_pages_equal_the_walk()
    {
        await using var registry = TestRegistry.Start(await EnvAsync(("SEARCH_WATCH_INTERVAL", "0")));
        await FilledAsync(registry);

        await V2Seed.PushImageAsync(registry, "hello-world", "latest");
        await V2Seed.PushImageAsync(registry, "a/b", "v1");
        var nested = await V2Seed.PushImageAsync(registry, "a/b/c", "v1");
        await V2Seed.PushImageAsync(registry, "a-c", "v1");
        (await registry.Client.SendAsync(HttpMethod.Delete, "/v2/a-c/manifests/v1")).StatusCode.Should().Be(System.Net.HttpStatusCode.Accepted);
        await V2Seed.PushImageAsync(registry, "team/web", "v1");
        await V2Seed.PushImageAsync(registry, "team/web", "v2");
        (await registry.Client.SendAsync(HttpMethod.Delete, "/v2/team/web/manifests/v2")).StatusCode.Should().Be(System.Net.HttpStatusCode.Accepted);
        (await registry.Client.SendAsync(HttpMethod.Delete, $"/v2/a/b/c/manifests/{nested.Digest}")).StatusCode.Should().Be(System.Net.HttpStatusCode.Accepted);
        // Pushed by digest only: a repository without tags is in the catalog (not in search).
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, "z.untagged");
        var byDigest = V2Seed.OciManifest(config, layer);
        await registry.Client.PushManifestAsync("z.untagged", byDigest.Digest.ToString(), byDigest);
        await V2Seed.PushImageAsync(registry, "alice/private", "v1");
        await registry.Storage.PutContentAsync(StoragePaths.Private(RepositoryName.FromLogical("alice/private")), "1"u8.ToArray(), default);
        // Blobs alone make no repository.
        await V2Seed.BlobAsync(registry, "layersonly", [1, 2, 3]);
        await GcTestKit.Collector(registry, new GcSettings()).RunAsync(deleteUntagged: true);

        var walk = await WalkAsync(registry, "");
        walk.Should().Equal("a/b", "a/b/c", "a-c", "alice/private", "hello-world", "team/web", "z.untagged");
        (await TableAsync(registry)).Should().Equal(walk);
        // Without auth every caller may list every repository, private ones too (CatalogTests has the filtered case).
        (await registry.Client.GetStringAsync("/v2/_catalog")).Should().Be(Body(walk));
        await PagesEqualTheWalkAsync(registry);
    }

    [Test]
    public async Task A_repository_removed_or_copied_in_on_disk_shows_in_catalog_and_search_within_seconds()
    {
        await using var registry = TestRegistry.Start(await EnvAsync(("SEARCH_WATCH_INTERVAL", "1")));
        await FilledAsync(registry);
        await V2Seed.PushImageAsync(registry, "hello-world", "latest");
        await V2Seed.PushImageAsync(registry, "team/web", "v1");
        await V2Seed.PushImageAsync(registry, "deep/a/b", "v1");
        (await registry.Client.GetStringAsync("/v2/_catalog")).Should().Be(Body(["deep/a/b", "hello-world", "team/web"]));
        // The watch must have looked at the new directories once: one created and removed between two looks is left to the reconcile.
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        var v2 = Path.Combine(registry.StorageRoot, "docker/registry/v2/repositories");
        Directory.Delete(Path.Combine(v2, "hello-world"), recursive: true);
        TempDirectory.CopyTree(Path.Combine(v2, "team/web"), Path.Combine(v2, "team/copied"));
        TempDirectory.CopyTree(Path.Combine(v2, "team/web"), Path.Combine(v2, "fresh/x/y"));
        Directory.Delete(Path.Combine(v2, "deep"), recursive: true);

        await CatalogBecomesAsync(registry, Body(["fresh/x/y", "team/copied", "team/web"]));
        (await TableAsync(registry)).Should().Equal(await WalkAsync(registry, ""));
        var clock = Stopwatch.StartNew();
        string search;
        while ((search = await registry.Client.GetStringAsync("/v1/search?q=hello")) != ClusterTests.SearchBody("hello") && clock.Elapsed < Within)
            await Task.Delay(200);
        search.Should().Be(ClusterTests.SearchBody("hello"), "search should follow storage within seconds");
    }

    [Test]
    public async Task A_first_start_on_existing_data_fills_the_table_in_the_background()
    {
        var env = await EnvAsync(("SEARCH_WATCH_INTERVAL", "0"));
        var root = Path.Combine(Path.GetTempPath(), "registry-index-catalog-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        // Pushed while the catalog walks storage: the table is left empty.
        var walking = TestRegistry.Start(new Dictionary<string, string>(env) { ["CATALOG_FROM_INDEX"] = "false" }, root);
        foreach (var name in new[] { "one", "two/a", "two/a/b", "three-x" }) await V2Seed.PushImageAsync(walking, name, "v1");
        (await TableAsync(walking)).Should().BeEmpty();
        await walking.StopAsync();

        await using var registry = TestRegistry.Start(env, root);
        await FilledAsync(registry);
        (await TableAsync(registry)).Should().Equal("one", "three-x", "two/a", "two/a/b");
        await PagesEqualTheWalkAsync(registry);
    }

    /// <summary>Every page for every <c>n</c> and a range of <c>last</c> values (names, prefixes, text no name has) equals the walk's.</summary>
    private static async Task PagesEqualTheWalkAsync(TestRegistry registry)
    {
        var walk = await WalkAsync(registry, "");
        var lasts = walk.Concat(["", "a", "a/", "a-", "a/b/", "A", "zzz", "0", "t\u0001x", "~"]).ToList();
        for (var n = 1; n <= walk.Count + 1; n++)
        {
            foreach (var last in lasts)
            {
                var visible = await WalkAsync(registry, last);
                var query = last.Length == 0 ? $"?n={n}" : $"?n={n}&last={Uri.EscapeDataString(last)}";
                using var response = await registry.Client.GetAsync("/v2/_catalog" + query);
                ((int)response.StatusCode).Should().Be(200);
                (await response.Content.ReadAsStringAsync()).Should().Be(Body(visible.Take(n)), $"n={n} last={last}");
                response.Header("Link").Should().Be(visible.Count > n
                    ? $"</v2/_catalog?last={Uri.EscapeDataString(visible[n - 1])}&n={n}>; rel=\"next\""
                    : null, $"n={n} last={last}");
            }
        }
    }

    private static async Task<List<string>> WalkAsync(TestRegistry registry, string after)
    {
        var names = new List<string>();
        await foreach (var name in registry.Services.GetRequiredService<DistributionCatalog>().WalkAfterAsync(after, default)) names.Add(name);
        return names;
    }

    private static async Task<List<string>> TableAsync(TestRegistry registry)
    {
        var names = registry.Services.GetRequiredService<IIndexDatabase>().DistributionNames;
        return [.. await names.PageAsync("", 100_000, default)];
    }

    private static async Task FilledAsync(TestRegistry registry)
    {
        var catalog = registry.Services.GetRequiredService<DistributionCatalog>();
        catalog.FromIndex.Should().BeTrue();
        var clock = Stopwatch.StartNew();
        while (!catalog.Filled && clock.Elapsed < Within) await Task.Delay(50);
        catalog.Filled.Should().BeTrue("the first fill runs in the background right after start");
    }

    private static async Task CatalogBecomesAsync(TestRegistry registry, string expected)
    {
        var clock = Stopwatch.StartNew();
        string body;
        while ((body = await registry.Client.GetStringAsync("/v2/_catalog")) != expected && clock.Elapsed < Within) await Task.Delay(200);
        body.Should().Be(expected, "the catalog should follow storage within seconds");
    }

    private static string Body(IEnumerable<string> names) =>
        $"{{\"repositories\":[{string.Join(",", names.Select(n => $"\"{n}\""))}]}}";
}
