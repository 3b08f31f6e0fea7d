using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V2;

/// <summary>
/// The v2 read path keeps settled links and manifests in memory (<c>ManifestReadCache</c>); what it serves must follow
/// storage changed behind the server's back, whatever was cached. Files are aged past the settle time so that every
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
        Age(registry);
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
        Age(registry);
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
    public async Task A_revision_whose_link_was_removed_behind_the_servers_back_is_unknown_and_its_tag_dangles()
    {
        await using var registry = TestRegistry.Start();
        var manifest = await V2Seed.PushImageAsync(registry, Repo, "latest");
        await V2Seed.PushImageAsync(registry, Repo, "other");
        Age(registry);
        (await ManifestAsync(registry, manifest.Digest.ToString())).Should().Be(manifest.Text);
        (await TagsAsync(registry)).Should().Be(Tags("latest", "other"));

        File.Delete(Physical(registry, $"_manifests/revisions/sha256/{manifest.Digest.Hex}/link"));

        using var byDigest = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{manifest.Digest}");
        ((int)byDigest.StatusCode).Should().Be(404);
        using var byTag = await registry.Client.GetAsync($"/v2/{Repo}/manifests/latest");
        ((int)byTag.StatusCode).Should().Be(404);
        (await TagsAsync(registry)).Should().Be(Tags("other"));
    }

    [Test]
    public async Task A_repository_removed_with_rm_rf_is_unknown_at_once()
    {
        await using var registry = TestRegistry.Start();
        var manifest = await V2Seed.PushImageAsync(registry, Repo, "latest");
        Age(registry);
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

    private static string Tags(params string[] tags) => $"{{\"name\":\"{Repo}\",\"tags\":[{string.Join(",", tags.Select(t => $"\"{t}\""))}]}}";

    private static string Physical(TestRegistry registry, string relative) =>
        Path.Combine(registry.StorageRoot, "docker/registry/v2/repositories", Repo, relative);

    /// <summary>Every file and directory of the v2 tree an hour old: settled, so the next reads are cached.</summary>
    private static void Age(TestRegistry registry)
    {
        var past = DateTime.UtcNow.AddHours(-1);
        var root = Path.Combine(registry.StorageRoot, "docker/registry/v2");
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)) File.SetLastWriteTimeUtc(file, past);
        foreach (var dir in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories)) Directory.SetLastWriteTimeUtc(dir, past);
    }
}
