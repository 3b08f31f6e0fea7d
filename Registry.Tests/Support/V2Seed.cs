using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Distribution;
using Registry.V2.Manifests;

namespace Registry.Tests.Support;

/// <summary>A blob and the descriptor a manifest uses for it.</summary>
public sealed record SeededBlob(Digest Digest, byte[] Content, string MediaType)
{
    public string Descriptor => $"{{\"mediaType\":\"{MediaType}\",\"digest\":\"{Digest}\",\"size\":{Content.Length}}}";
}

/// <summary>A manifest pushed by a test: its exact bytes and sha256 digest.</summary>
public sealed record SeededManifest(byte[] Bytes, Digest Digest, string MediaType)
{
    public string Text => Encoding.UTF8.GetString(Bytes);
}

/// <summary>
/// Test data for the manifest routes: blobs linked into a repository by writing storage directly (the layout
/// of docs/storage-layout.md, 'V2 tree', as an upload commit would leave it), manifest documents, and manifest requests.
/// </summary>
public static class V2Seed
{
    public const string OciConfigType = "application/vnd.oci.image.config.v1+json";
    public const string OciLayerType = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string DockerConfigType = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerType = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    /// <summary>Writes the blob's data (if absent) and links it into <paramref name="name"/>.</summary>
    public static async Task<SeededBlob> BlobAsync(TestRegistry registry, string name, byte[] content, string mediaType = OciLayerType)
    {
        var digest = Digest.Compute("sha256", content);
        if (!await registry.Storage.ExistsAsync(DistributionPaths.BlobData(digest), CancellationToken.None))
            await registry.Storage.PutContentAsync(DistributionPaths.BlobData(digest), content, CancellationToken.None);
        await DistributionLinks.WriteAsync(registry.Storage, DistributionPaths.LayerLink(name, digest), digest, CancellationToken.None);
        return new SeededBlob(digest, content, mediaType);
    }

    /// <summary>A config and a layer with random content, linked into <paramref name="name"/>.</summary>
    public static async Task<(SeededBlob Config, SeededBlob Layer)> ImageBlobsAsync(TestRegistry registry, string name)
    {
        var config = await BlobAsync(registry, name, Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":\"{Guid.NewGuid():N}\"}}"), OciConfigType);
        var layer = await BlobAsync(registry, name, V1Client.RandomBytes(300));
        return (config, layer);
    }

    public static SeededManifest OciManifest(SeededBlob config, params SeededBlob[] layers) => Manifest(
        $"{{\"schemaVersion\":2,\"mediaType\":\"{ManifestDocument.OciManifest}\",\"config\":{config.Descriptor},\"layers\":[{string.Join(",", layers.Select(l => l.Descriptor))}]}}",
        ManifestDocument.OciManifest);

    public static SeededManifest DockerManifest(SeededBlob config, params SeededBlob[] layers) => Manifest(
        $"{{\"schemaVersion\":2,\"mediaType\":\"{ManifestDocument.DockerV2}\",\"config\":{config.Descriptor},\"layers\":[{string.Join(",", layers.Select(l => l.Descriptor))}]}}",
        ManifestDocument.DockerV2);

    /// <summary>An OCI index (or Docker list with <paramref name="mediaType"/>) over the given manifests.</summary>
    public static SeededManifest Index(string mediaType, params SeededManifest[] children) => Manifest(
        $"{{\"schemaVersion\":2,\"mediaType\":\"{mediaType}\",\"manifests\":[{string.Join(",", children.Select(c =>
            $"{{\"mediaType\":\"{c.MediaType}\",\"digest\":\"{c.Digest}\",\"size\":{c.Bytes.Length},\"platform\":{{\"architecture\":\"amd64\",\"os\":\"linux\"}}}}"))}]}}",
        mediaType);

    public static SeededManifest Manifest(string text, string mediaType)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return new SeededManifest(bytes, Digest.Compute("sha256", bytes), mediaType);
    }

    public static Task<HttpResponseMessage> PutManifestAsync(this HttpClient client, string name, string reference, byte[] body, string? contentType)
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null) content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return client.PutAsync($"/v2/{name}/manifests/{reference}", content);
    }

    public static Task<HttpResponseMessage> PutManifestAsync(this HttpClient client, string name, string reference, SeededManifest manifest) =>
        client.PutManifestAsync(name, reference, manifest.Bytes, manifest.MediaType);

    /// <summary>PUTs the manifest and asserts 201.</summary>
    public static async Task PushManifestAsync(this HttpClient client, string name, string reference, SeededManifest manifest)
    {
        using var response = await client.PutManifestAsync(name, reference, manifest);
        ((int)response.StatusCode).Should().Be(201, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Seeds a config and a layer, then pushes an OCI manifest of them under <paramref name="tag"/>.</summary>
    public static async Task<SeededManifest> PushImageAsync(TestRegistry registry, string name, string tag)
    {
        var (config, layer) = await ImageBlobsAsync(registry, name);
        var manifest = OciManifest(config, layer);
        await registry.Client.PushManifestAsync(name, tag, manifest);
        return manifest;
    }

    public static Task<HttpResponseMessage> SendAsync(this HttpClient client, HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, path);
        foreach (var (headerName, value) in headers) request.Headers.TryAddWithoutValidation(headerName, value);
        return client.SendAsync(request);
    }

    public static ManifestStore Manifests(this TestRegistry registry) => registry.Services.GetRequiredService<ManifestStore>();

    public static IReadOnlyDictionary<string, string> DeleteEnabled => new Dictionary<string, string> { ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true" };
}
