using System.Diagnostics;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Cluster;
using Registry.Tests.Support;

namespace Registry.Tests.Search;

/// <summary>
/// Search follows storage changed behind the registry's back: the walkthrough's
/// <c>rm -rf …/docker/registry/v2/repositories/hello-world/</c> drops the repository from <c>_catalog</c> and from
/// <c>/v1/search</c> alike, and a directory copied in appears in both.
/// </summary>
public class StorageFollowerTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(15);

    [Test]
    public async Task A_repository_removed_or_copied_in_on_disk_shows_in_catalog_and_search_within_seconds()
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["SEARCH_WATCH_INTERVAL"] = "1" });
        await V2Seed.PushImageAsync(registry, "hello-world", "latest");
        await V2Seed.PushImageAsync(registry, "team/web", "v1");
        var id = V1Client.NewImageId();
        await registry.Client.PushImageAsync(id, V1Client.RandomBytes(100));
        ((int)(await registry.Client.PutTagAsync("alice/tool", "latest", id)).StatusCode).Should().Be(200);
        (await Search(registry, "l")).Should().Be(ClusterTests.SearchBody("l", "alice/tool", "hello-world"));
        // The follower's first look is its baseline: wait for it before changing anything.
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        var v2 = Path.Combine(registry.StorageRoot, "docker/registry/v2/repositories");
        var v1 = Path.Combine(registry.StorageRoot, "repositories");
        Directory.Delete(Path.Combine(v2, "hello-world"), recursive: true);
        Directory.Delete(Path.Combine(v1, "alice/tool"), recursive: true);
        TempDirectory.CopyTree(Path.Combine(v2, "team/web"), Path.Combine(v2, "team/copied"));

        await SearchBecomes(registry, "l", ClusterTests.SearchBody("l"));
        (await registry.Client.GetStringAsync("/v2/_catalog")).Should().Be("{\"repositories\":[\"team/copied\",\"team/web\"]}");
        await SearchBecomes(registry, "team", ClusterTests.SearchBody("team", "team/copied", "team/web"));

        // A whole namespace removed: everything the index held under it goes.
        Directory.Delete(Path.Combine(v2, "team"), recursive: true);
        await SearchBecomes(registry, "", ClusterTests.SearchBody(""));
        (await registry.Client.GetStringAsync("/v2/_catalog")).Should().Be("{\"repositories\":[]}");
    }

    [Test]
    public async Task The_periodic_reconcile_follows_what_the_watch_does_not_see()
    {
        // Watch off: only the reconcile (what S3 relies on) can notice; a three-part name is below what the watch looks at.
        await using var registry = TestRegistry.Start(new Dictionary<string, string>
        {
            ["SEARCH_WATCH_INTERVAL"] = "0",
            ["SEARCH_RECONCILE_INTERVAL"] = "1",
        });
        await V2Seed.PushImageAsync(registry, "org/team/app", "v1");
        await V2Seed.PushImageAsync(registry, "org/team/keep", "v1");
        (await Search(registry, "org")).Should().Be(ClusterTests.SearchBody("org", "org/team/app", "org/team/keep"));

        Directory.Delete(Path.Combine(registry.StorageRoot, "docker/registry/v2/repositories/org/team/app"), recursive: true);

        await SearchBecomes(registry, "org", ClusterTests.SearchBody("org", "org/team/keep"));
    }

    private static Task<string> Search(TestRegistry registry, string q) => registry.Client.GetStringAsync($"/v1/search?q={q}");

    /// <summary>Waits (bounded) until the search for <paramref name="q"/> answers <paramref name="expected"/>.</summary>
    private static async Task SearchBecomes(TestRegistry registry, string q, string expected)
    {
        var clock = Stopwatch.StartNew();
        string body;
        while ((body = await Search(registry, q)) != expected && clock.Elapsed < Within) await Task.Delay(200);
        body.Should().Be(expected, "search should follow storage within seconds");
    }
}
