using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;
using Registry.V2.Manifests;

namespace Registry.Tests.V2;

/// <summary>
/// The v2 read path keeps settled links and manifests in memory (<c>ManifestReadCache</c>); what it serves must follow
/// storage changed behind the server's back, whatever was cached. Each test waits out the settle time so that every
/// read below is a cache hit until the change.
/// </summary>
public class ManifestReadCacheTests
{
    private const string Repo = "cached/repo";

    [Test]
    public async Task A_tag_link_rewritten_behind_the_servers_back_serves_the_new_manifest()
    {
        await using var registry = TestRegistry.Start();
        var first = await V2Seed.PushImageAsync(registry, Repo, "latest");
        var second = await V2Seed.PushImageAsync(registry, Repo, "other");
        await SettleAsync();
        (await ManifestAsync(registry, "latest")).Should().Be(first.Text);
        (await ManifestAsync(registry, "latest")).Should().Be(first.Text);

        await File.WriteAllTextAsync(Physical(registry, "_manifests/tags/latest/current/link"), second.Digest.ToString());

        (await ManifestAsync(registry, "latest")).Should().Be(second.Text);
    }

    [Test]
    public async Task Tags_added_and_removed_behind_the_servers_back_show_in_the_list()
    {
        await using var registry = TestRegistry.Start();
        await V2Seed.PushImageAsync(registry, Repo, "latest");
        await V2Seed.PushImageAsync(registry, Repo, "other");
        await SettleAsync();
        (await TagsAsync(registry)).Should().Be(Tags("latest", "other"));
        (await TagsAsync(registry)).Should().Be(Tags("latest", "other"));

        Directory.Delete(Physical(registry, "_manifests/tags/other"), recursive: true);
        (await TagsAsync(registry)).Should().Be(Tags("latest"));

        var copy = Physical(registry, "_manifests/tags/copied/current");
        Directory.CreateDirectory(copy);
        File.Copy(Physical(registry, "_manifests/tags/latest/current/link"), Path.Combine(copy, "link"));
        (await TagsAsync(registry)).Should().Be(Tags("copied", "latest"));
    }

    [Test]
    public async Task A_tags_directory_restored_with_its_old_times_shows_the_restored_tags()
    {
        await using var registry = TestRegistry.Start();
        await V2Seed.PushImageAsync(registry, Repo, "latest");
        await V2Seed.PushImageAsync(registry, Repo, "other");
        var tagsDir = Physical(registry, "_manifests/tags");
        var times = (Directory.GetLastWriteTimeUtc(tagsDir), Directory.GetLastWriteTimeUtc(Path.Combine(tagsDir, "other")));
        await SettleAsync();
        (await TagsAsync(registry)).Should().Be(Tags("latest", "other"));

        // What cp -a or rsync -a of a backup does: other entries, the directory's old modification time put back.
        Directory.Move(Path.Combine(tagsDir, "other"), Path.Combine(tagsDir, "restored"));
        Directory.SetLastWriteTimeUtc(tagsDir, times.Item1);
        Directory.GetLastWriteTimeUtc(tagsDir).Should().Be(times.Item1);

        (await TagsAsync(registry)).Should().Be(Tags("latest", "restored"));
    }

    [Test]
    public async Task Pages_of_a_cached_list_follow_a_tag_copied_in_with_exact_headers_and_link()
    {
        await using var registry = TestRegistry.Start();
        await V2Seed.PushImageAsync(registry, Repo, "a");
        await V2Seed.PushImageAsync(registry, Repo, "c");
        await SettleAsync();
        (await PageAsync(registry, "?n=1")).Should().Be((Tags("a"), $"</v2/{Repo}/tags/list?last=a&n=1>; rel=\"next\""));
        (await PageAsync(registry, "?n=1&last=a")).Should().Be((Tags("c"), null));

        var copy = Physical(registry, "_manifests/tags/b/current");
        Directory.CreateDirectory(copy);
        File.Copy(Physical(registry, "_manifests/tags/a/current/link"), Path.Combine(copy, "link"));

        (await PageAsync(registry, "?n=1&last=a")).Should().Be((Tags("b"), $"</v2/{Repo}/tags/list?last=b&n=1>; rel=\"next\""));
        (await PageAsync(registry, "?n=1&last=b")).Should().Be((Tags("c"), null));
        using var all = await registry.Client.GetAsync($"/v2/{Repo}/tags/list");
        all.Header("Content-Type").Should().Be("application/json");
        all.Content.Headers.ContentLength.Should().Be(Tags("a", "b", "c").Length);
        (await all.Content.ReadAsStringAsync()).Should().Be(Tags("a", "b", "c"));
    }

    [Test]
    public async Task A_revision_whose_link_was_removed_behind_the_servers_back_is_unknown_and_its_tag_is_still_listed()
    {
        await using var registry = TestRegistry.Start();
        var manifest = await V2Seed.PushImageAsync(registry, Repo, "latest");
        await V2Seed.PushImageAsync(registry, Repo, "other");
        await SettleAsync();
        (await ManifestAsync(registry, manifest.Digest.ToString())).Should().Be(manifest.Text);
        (await TagsAsync(registry)).Should().Be(Tags("latest", "other"));

        File.Delete(Physical(registry, $"_manifests/revisions/sha256/{manifest.Digest.Hex}/link"));

        using var byDigest = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{manifest.Digest}");
        ((int)byDigest.StatusCode).Should().Be(404);
        using var byTag = await registry.Client.GetAsync($"/v2/{Repo}/manifests/latest");
        ((int)byTag.StatusCode).Should().Be(404);
        // As distribution lists tags: the names in the tags directory, whatever their links point at.
        (await TagsAsync(registry)).Should().Be(Tags("latest", "other"));
    }

    [Test]
    public async Task A_repository_removed_with_rm_rf_is_unknown_at_once()
    {
        await using var registry = TestRegistry.Start();
        var manifest = await V2Seed.PushImageAsync(registry, Repo, "latest");
        await SettleAsync();
        (await ManifestAsync(registry, "latest")).Should().Be(manifest.Text);
        (await TagsAsync(registry)).Should().Be(Tags("latest"));

        Directory.Delete(Physical(registry, ""), recursive: true);

        using var tags = await registry.Client.GetAsync($"/v2/{Repo}/tags/list");
        ((int)tags.StatusCode).Should().Be(404);
        (await tags.Content.ReadAsStringAsync()).Should().Contain("\"code\":\"NAME_UNKNOWN\"");
        using var byTag = await registry.Client.GetAsync($"/v2/{Repo}/manifests/latest");
        ((int)byTag.StatusCode).Should().Be(404);
        (await byTag.Content.ReadAsStringAsync()).Should().Contain("\"code\":\"MANIFEST_UNKNOWN\"");
        using var byDigest = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{manifest.Digest}");
        ((int)byDigest.StatusCode).Should().Be(404);
    }

    private static async Task<string> ManifestAsync(TestRegistry registry, string reference)
    {
        using var response = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{reference}");
        ((int)response.StatusCode).Should().Be(200);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<string> TagsAsync(TestRegistry registry)
    {
        using var response = await registry.Client.GetAsync($"/v2/{Repo}/tags/list");
        ((int)response.StatusCode).Should().Be(200);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<(string Body, string? Link)> PageAsync(TestRegistry registry, string query)
    {
        using var response = await registry.Client.GetAsync($"/v2/{Repo}/tags/list{query}");
        ((int)response.StatusCode).Should().Be(200);
        return (await response.Content.ReadAsStringAsync(), response.Header("Link"));
    }

    private static string Tags(params string[] tags) => $"{{\"name\":\"{Repo}\",\"tags\":[{string.Join(",", tags.Select(t => $"\"{t}\""))}]}}";

    private static string Physical(TestRegistry registry, string relative) =>
        Path.Combine(registry.StorageRoot, "docker/registry/v2/repositories", Repo, relative);

    /// <summary>
    /// Waits until everything written so far is older than the settle time (measured on the status-change time,
    /// which cannot be set back), so that the next reads are cached.
    /// </summary>
    private static Task SettleAsync() => Task.Delay(ManifestReadCache.SettleTime + TimeSpan.FromMilliseconds(200));
}
