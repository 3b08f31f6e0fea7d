using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Search;
using Registry.Tests.Support;
using Registry.V2.Catalog;

namespace Registry.Tests.V2;

public class CatalogTests
{
    /// <summary>A repository as the catalog sees it: a directory with <c>_manifests</c> (one untagged revision).</summary>
    private static async Task CreateRepositoryAsync(TestRegistry registry, string name)
    {
        var bytes = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"name\":\"{name}\"}}");
        var digest = Digest.Compute("sha256", bytes);
        await registry.Storage.PutContentAsync(DistributionPaths.BlobData(digest), bytes, default);
        await DistributionLinks.WriteAsync(registry.Storage, DistributionPaths.RevisionLink(name, digest), digest, default);
    }

    private static string Body(params string[] names) =>
        $"{{\"repositories\":[{string.Join(",", names.Select(n => $"\"{n}\""))}]}}";

    [Test]
    public async Task Repositories_come_in_catalog_order_with_slash_first_and_only_those_with_manifests()
    {
        await using var registry = TestRegistry.Start();
        foreach (var name in new[] { "ab", "a.b", "a-c", "a/b/c", "a/b", "a", "z0", "a/a-b/x" })
            await CreateRepositoryAsync(registry, name);
        await V2Seed.BlobAsync(registry, "layersonly", [1, 2, 3]);

        using var response = await registry.Client.GetAsync("/v2/_catalog");
        ((int)response.StatusCode).Should().Be(200);
        response.Header("Content-Type").Should().Be("application/json");
        response.Header("Link").Should().BeNull();
        var expected = new[] { "a", "a/a-b/x", "a/b", "a/b/c", "a-c", "a.b", "ab", "z0" };
        (await response.Content.ReadAsStringAsync()).Should().Be(Body(expected));

        // The enumeration itself is in that order, which is what '/' replaced by NUL sorts to.
        var names = new List<string>();
        await foreach (var name in registry.Services.GetRequiredService<RepositoryCatalog>().DistributionRepositoriesAsync(default)) names.Add(name);
        names.Should().Equal(expected);
        expected.Order(Comparer<string>.Create(DistributionTree.CompareCatalogOrder)).Should().Equal(expected);
    }

    [Test]
    public async Task Pages_with_n_and_last_carry_an_encoded_link()
    {
        await using var registry = TestRegistry.Start();
        foreach (var name in new[] { "a", "a/b", "a-c", "b" }) await CreateRepositoryAsync(registry, name);

        using (var first = await registry.Client.GetAsync("/v2/_catalog?n=2"))
        {
            (await first.Content.ReadAsStringAsync()).Should().Be(Body("a", "a/b"));
            first.Header("Link").Should().Be("</v2/_catalog?last=a%2Fb&n=2>; rel=\"next\"");
        }
        using (var second = await registry.Client.GetAsync("/v2/_catalog?last=a%2Fb&n=2"))
        {
            (await second.Content.ReadAsStringAsync()).Should().Be(Body("a-c", "b"));
            second.Header("Link").Should().BeNull();
        }
        using (var afterA = await registry.Client.GetAsync("/v2/_catalog?last=a"))
            (await afterA.Content.ReadAsStringAsync()).Should().Be(Body("a/b", "a-c", "b"));
        using (var zero = await registry.Client.GetAsync("/v2/_catalog?n=0"))
        {
            ((int)zero.StatusCode).Should().Be(200);
            (await zero.Content.ReadAsStringAsync()).Should().Be(Body());
            zero.Header("Link").Should().BeNull();
        }
    }

    [Test]
    public async Task Without_n_a_page_holds_100()
    {
        await using var registry = TestRegistry.Start();
        var names = Enumerable.Range(0, 101).Select(i => $"r{i:D3}").ToArray();
        foreach (var name in names) await CreateRepositoryAsync(registry, name);

        using var response = await registry.Client.GetAsync("/v2/_catalog");
        (await response.Content.ReadAsStringAsync()).Should().Be(Body(names[..100]));
        response.Header("Link").Should().Be("</v2/_catalog?last=r099&n=100>; rel=\"next\"");
    }

    [TestCase("6")]
    [TestCase("-1")]
    [TestCase("x")]
    public async Task N_above_the_configured_maximum_or_not_a_count_is_400(string n)
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["REGISTRY_CATALOG_MAXENTRIES"] = "5" });
        using var response = await registry.Client.GetAsync($"/v2/_catalog?n={n}");
        ((int)response.StatusCode).Should().Be(400);
        (await response.Content.ReadAsStringAsync()).Should().Be(
            $"{{\"errors\":[{{\"code\":\"PAGINATION_NUMBER_INVALID\",\"message\":\"invalid number of results requested\",\"detail\":{{\"n\":\"{n}\"}}}}]}}");
    }

    [Test]
    public async Task A_maximum_below_100_is_the_default_page()
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["REGISTRY_CATALOG_MAXENTRIES"] = "2" });
        foreach (var name in new[] { "a", "b", "c" }) await CreateRepositoryAsync(registry, name);
        using var response = await registry.Client.GetAsync("/v2/_catalog");
        (await response.Content.ReadAsStringAsync()).Should().Be(Body("a", "b"));
        response.Header("Link").Should().Be("</v2/_catalog?last=b&n=2>; rel=\"next\"");
    }

    [Test]
    public async Task Private_repositories_are_listed_only_to_callers_who_may_pull_them()
    {
        var root = Path.Combine(Path.GetTempPath(), "registry-v2-catalog-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var htpasswd = Path.Combine(root, "htpasswd");
        await File.WriteAllLinesAsync(htpasswd, [HtpasswdFile.Line("alice", "secret"), HtpasswdFile.Line("bob", "hunter2")]);
        await using var registry = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
        }, root);
        foreach (var name in new[] { "alice/private", "alice/public", "bob/stuff" }) await CreateRepositoryAsync(registry, name);
        await registry.Storage.PutContentAsync(StoragePaths.Private(RepositoryName.FromLogical("alice/private")), "1"u8.ToArray(), default);

        (await CatalogAsync(registry, null)).Should().Be(Body("alice/public", "bob/stuff"));
        (await CatalogAsync(registry, ("bob", "hunter2"))).Should().Be(Body("alice/public", "bob/stuff"));
        (await CatalogAsync(registry, ("alice", "secret"))).Should().Be(Body("alice/private", "alice/public", "bob/stuff"));

        // A full page counts visible repositories only.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/_catalog?n=1&last=alice%2Fprivate");
        using var page = await registry.Client.SendAsync(request);
        (await page.Content.ReadAsStringAsync()).Should().Be(Body("alice/public"));
    }

    private static async Task<string> CatalogAsync(TestRegistry registry, (string User, string Password)? credentials)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/_catalog");
        if (credentials is { } c)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.User}:{c.Password}")));
        using var response = await registry.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(200);
        return await response.Content.ReadAsStringAsync();
    }
}
