using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Registry.Core.Concurrency;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.V1.Mirroring;

/// <summary>An image fetched from the upstream: its json and ancestry byte for byte and the headers its json came with.</summary>
public sealed record MirroredImage(byte[] Json, byte[] Ancestry, IReadOnlyList<string> Checksums, long? LayerSize)
{
    /// <summary>The headers of <c>GET …/json</c> as the upstream sent them (Docker Registry HTTP API V1, 'Images').</summary>
    public IReadOnlyList<KeyValuePair<string, string>> JsonHeaders()
    {
        var headers = new List<KeyValuePair<string, string>>();
        if (LayerSize is { } size) headers.Add(new("X-Docker-Size", size.ToString(CultureInfo.InvariantCulture)));
        foreach (var checksum in Checksums) headers.Add(new("X-Docker-Checksum-Payload", checksum));
        return headers;
    }
}

/// <summary>
/// Image json and ancestry on a local miss (docs/configuration.md, 'V1 mirroring'): fetched from the upstream registry,
/// checked (the json names the id asked for, the ancestry starts with it), and stored as a local image without a
/// layer ("json only", docs/storage-layout.md, 'Image state machine'): ancestry, <c>_checksum</c> and the upstream's
/// layer size (<see cref="StoragePaths.ImageMirrorSize"/>, so json answers carry it before the layer is here) first, json last,
/// under the image lock and the collector's shared side, so a reader never sees half an image. An image pushed
/// locally meanwhile wins: nothing is written over it.
/// </summary>
public sealed class MirrorImageService(IStorageDriver storage, V1Upstream upstream, IKeyedLock locks, IGcCoordinator gc)
{
    /// <summary>True when <c>mirroring.source</c> is set.</summary>
    public bool Enabled => upstream.Enabled;

    public async Task<UpstreamAnswer<MirroredImage>> FetchAsync(ImageId id, CancellationToken ct)
    {
        var json = await upstream.GetDocumentAsync(UpstreamRole.Registry, UpstreamPaths.ImageJson(id), null, ct);
        if (json.Value is null) return new(null, json.Failure);
        if (!NamesImage(json.Value.Body, id)) return new(null, upstream.Invalid(UpstreamRole.Registry, $"json for image {id.Value}"));

        var ancestry = await upstream.GetDocumentAsync(UpstreamRole.Registry, UpstreamPaths.ImageAncestry(id), null, ct);
        if (ancestry.Value is null)
            return new(null, ancestry.Failure ?? upstream.Invalid(UpstreamRole.Registry, $"ancestry for image {id.Value} (missing)"));
        if (ParseAncestry(ancestry.Value.Body, id) is not { } ids) return new(null, upstream.Invalid(UpstreamRole.Registry, $"ancestry for image {id.Value}"));

        var checksums = json.Value.Header("X-Docker-Checksum-Payload")
            .SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToArray();
        long? size = json.Value.Header("X-Docker-Size").Select(v => long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : (long?)null).FirstOrDefault();
        var image = new MirroredImage(json.Value.Body, ancestry.Value.Body, checksums, size);

        await using var held = await locks.AcquireAsync(id.Value, ct);
        await using var gcWrite = await gc.EnterWriteAsync(ct);
        gc.TouchImages(ids);
        if (await storage.ExistsAsync(StoragePaths.ImageJson(id), ct)) return new(image, null);
        // CancellationToken.None from here: the client going away must not leave half an image.
        await storage.PutContentAsync(StoragePaths.ImageAncestry(id), image.Ancestry, CancellationToken.None);
        if (checksums.Length > 0)
        {
            var list = new JsonArray(checksums.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray());
            await storage.PutContentAsync(StoragePaths.ImageChecksum(id), Encoding.UTF8.GetBytes(PyJson.Serialize(list)), CancellationToken.None);
        }
        if (size is { } known)
            await storage.PutContentAsync(StoragePaths.ImageMirrorSize(id), Encoding.ASCII.GetBytes(known.ToString(CultureInfo.InvariantCulture)), CancellationToken.None);
        await storage.PutContentAsync(StoragePaths.ImageJson(id), image.Json, CancellationToken.None);
        return new(image, null);
    }

    private static bool NamesImage(byte[] body, ImageId id)
    {
        using var doc = JsonBody.TryParse(body);
        return doc is { RootElement.ValueKind: JsonValueKind.Object }
            && doc.RootElement.TryGetProperty("id", out var value)
            && value.ValueKind == JsonValueKind.String && value.GetString() == id.Value;
    }

    private static IReadOnlyList<string>? ParseAncestry(byte[] body, ImageId id)
    {
        using var doc = JsonBody.TryParse(body);
        if (doc is not { RootElement.ValueKind: JsonValueKind.Array }) return null;
        var ids = new List<string>();
        foreach (var element in doc.RootElement.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.String || !ImageId.TryParse(element.GetString(), out var ancestor)) return null;
            ids.Add(ancestor.Value);
        }
        return ids.Count > 0 && ids[0] == id.Value ? ids : null;
    }
}
