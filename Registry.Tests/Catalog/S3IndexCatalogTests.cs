using System.Diagnostics;
using Amazon.S3;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Registry.Index.Search;
using Registry.Tests.Cluster;
using Registry.Tests.Support;

namespace Registry.Tests.Catalog;

/// <summary>
/// On S3 <c>_catalog</c> comes from the index database by default; a repository whose objects are removed from the bucket
/// behind the registry's back leaves <c>_catalog</c> and search within the reconcile interval (here one second).
/// </summary>
[TestFixture]
[Category("s3")]
public sealed class S3IndexCatalogTests
{
    [Test]
    public async Task A_repository_removed_from_the_bucket_leaves_catalog_and_search_within_the_reconcile_interval()
    {
        var rgw = await CephRgw.SharedAsync();
        using var s3 = rgw.CreateClient();
        var bucket = await rgw.CreateBucketAsync("registry-catalog");
        var prefix = "catalog-" + Guid.NewGuid().ToString("N")[..8];
        await using var registry = TestRegistry.Start(rgw.RegistryEnvironment("s3", bucket, "/" + prefix, ("SEARCH_RECONCILE_INTERVAL", "1")));
        var catalog = registry.Services.GetRequiredService<DistributionCatalog>();
        catalog.FromIndex.Should().BeTrue("S3 serves _catalog from the index unless catalog_from_index says otherwise");
        await V2Seed.PushImageAsync(registry, "hello-world", "latest");
        await V2Seed.PushImageAsync(registry, "team/web", "v1");
        var clock = Stopwatch.StartNew();
        while (!catalog.Filled && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(100);
        catalog.Filled.Should().BeTrue();
        (await registry.Client.GetStringAsync("/v2/_catalog")).Should().Be("{\"repositories\":[\"hello-world\",\"team/web\"]}");

        var repository = $"{prefix}/docker/registry/v2/repositories/hello-world/";
        var keys = await rgw.KeysAsync(bucket, repository);
        keys.Should().NotBeEmpty();
        foreach (var key in keys) await s3.DeleteObjectAsync(bucket, repository + key);
        (await rgw.KeysAsync(bucket, repository)).Should().BeEmpty();

        clock.Restart();
        string body;
        while (((body = await registry.Client.GetStringAsync("/v2/_catalog")) != "{\"repositories\":[\"team/web\"]}"
                || await registry.Client.GetStringAsync("/v1/search?q=hello") != ClusterTests.SearchBody("hello"))
               && clock.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(250);
        body.Should().Be("{\"repositories\":[\"team/web\"]}");
        (await registry.Client.GetStringAsync("/v1/search?q=hello")).Should().Be(ClusterTests.SearchBody("hello"));
    }
}
