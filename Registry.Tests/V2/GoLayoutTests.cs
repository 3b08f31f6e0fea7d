using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Tests.Support;

namespace Registry.Tests.V2;

/// <summary>
/// A data directory as <c>registry:2</c> leaves it (docs/storage-layout.md, 'V2 tree'), written as plain files: sha256 data,
/// sha512 aliases whose links name the sha256 data, link files without newlines, stray temp files and
/// signature directories. This server must serve it as is.
/// </summary>
public class GoLayoutTests
{
    private const string Repo = "library/hello";

    private static void WriteFile(TestRegistry registry, string relative, byte[] content)
    {
        var path = Path.Combine(registry.StorageRoot, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
    }

    private static void WriteLink(TestRegistry registry, string relative, Digest target) =>
        WriteFile(registry, relative, Encoding.ASCII.GetBytes(target.ToString()));

    private static string RepoDir => $"docker/registry/v2/repositories/{Repo}";

    private static string DataPath(Digest d) => $"docker/registry/v2/blobs/{d.Algorithm}/{d.Hex[..2]}/{d.Hex}/data";

    private sealed record Layout(byte[] Manifest, Digest Sha256, Digest Sha512, Digest LayerSha512, SeededBlob Config);

    private static Layout WriteLayout(TestRegistry registry)
    {
        var config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"u8.ToArray();
        var layer = V1Client.RandomBytes(512);
        var configDigest = Digest.Compute("sha256", config);
        var layerDigest = Digest.Compute("sha256", layer);
        var layerSha512 = Digest.Compute("sha512", layer);
        var configBlob = new SeededBlob(configDigest, config, V2Seed.DockerConfigType);
        var manifest = Encoding.UTF8.GetBytes(
            "{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n" +
            $"   \"config\": {configBlob.Descriptor},\n   \"layers\": [\n      {new SeededBlob(layerDigest, layer, V2Seed.DockerLayerType).Descriptor}\n   ]\n}}");
        var sha256 = Digest.Compute("sha256", manifest);
        var sha512 = Digest.Compute("sha512", manifest);

        WriteFile(registry, DataPath(configDigest), config);
        WriteFile(registry, DataPath(layerDigest), layer);
        WriteFile(registry, DataPath(sha256), manifest);
        WriteLink(registry, $"{RepoDir}/_layers/sha256/{configDigest.Hex}/link", configDigest);
        WriteLink(registry, $"{RepoDir}/_layers/sha256/{layerDigest.Hex}/link", layerDigest);
        // distribution keeps sha512 pushes under their sha256 data: the sha512 links name the sha256 digest.
        WriteLink(registry, $"{RepoDir}/_layers/sha512/{layerSha512.Hex}/link", layerDigest);
        WriteLink(registry, $"{RepoDir}/_manifests/revisions/sha256/{sha256.Hex}/link", sha256);
        WriteLink(registry, $"{RepoDir}/_manifests/revisions/sha512/{sha512.Hex}/link", sha256);
        WriteFile(registry, $"{RepoDir}/_manifests/revisions/sha256/{sha256.Hex}/signatures/sha256/{new string('1', 64)}/link", []);
        foreach (var tag in new[] { "latest", "v1" })
        {
            WriteLink(registry, $"{RepoDir}/_manifests/tags/{tag}/current/link", sha256);
            WriteLink(registry, $"{RepoDir}/_manifests/tags/{tag}/index/sha256/{sha256.Hex}/link", sha256);
        }
        WriteFile(registry, $"{RepoDir}/_manifests/tags/latest/current/link.5f2d.tmp", "garbage"u8.ToArray());
        WriteFile(registry, $"{RepoDir}/_uploads/0b5c1e0e-0000-4000-8000-000000000000/startedat", "2024-01-02T03:04:05Z"u8.ToArray());
        return new Layout(manifest, sha256, sha512, layerSha512, configBlob);
    }

    [Test]
    public async Task Tags_and_manifests_of_a_registry_2_directory_are_served()
    {
        await using var registry = TestRegistry.Start();
        var layout = WriteLayout(registry);

        using (var tags = await registry.Client.GetAsync($"/v2/{Repo}/tags/list"))
        {
            ((int)tags.StatusCode).Should().Be(200);
            (await tags.Content.ReadAsStringAsync()).Should().Be($"{{\"name\":\"{Repo}\",\"tags\":[\"latest\",\"v1\"]}}");
        }
        foreach (var (reference, digest) in new[] { ("latest", layout.Sha256), (layout.Sha256.ToString(), layout.Sha256), (layout.Sha512.ToString(), layout.Sha512) })
        {
            using var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{reference}");
            ((int)get.StatusCode).Should().Be(200, reference);
            get.Header("Content-Type").Should().Be(ManifestDocument.DockerV2);
            get.Header("Docker-Content-Digest").Should().Be(digest.ToString());
            get.Content.Headers.ContentLength.Should().Be(layout.Manifest.Length);
            (await get.Content.ReadAsByteArrayAsync()).Should().Equal(layout.Manifest);
        }
        using (var catalog = await registry.Client.GetAsync("/v2/_catalog"))
            (await catalog.Content.ReadAsStringAsync()).Should().Be($"{{\"repositories\":[\"{Repo}\"]}}");
    }

    [Test]
    public async Task A_manifest_may_reference_a_layer_through_its_sha512_alias_link()
    {
        await using var registry = TestRegistry.Start();
        var layout = WriteLayout(registry);
        var manifest = V2Seed.Manifest(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{ManifestDocument.DockerV2}\",\"config\":{layout.Config.Descriptor}," +
            $"\"layers\":[{{\"mediaType\":\"{V2Seed.DockerLayerType}\",\"digest\":\"{layout.LayerSha512}\",\"size\":512}}]}}",
            ManifestDocument.DockerV2);

        await registry.Client.PushManifestAsync(Repo, "sha512-layer", manifest);
        using var tags = await registry.Client.GetAsync($"/v2/{Repo}/tags/list");
        (await tags.Content.ReadAsStringAsync()).Should().Be($"{{\"name\":\"{Repo}\",\"tags\":[\"latest\",\"sha512-layer\",\"v1\"]}}");
        File.ReadAllText(Path.Combine(registry.StorageRoot, $"{RepoDir}/_manifests/tags/sha512-layer/current/link")).Should().Be(manifest.Digest.ToString());
    }
}
