using System.Text.Json;
using Registry.Core.Distribution;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.V1.Repositories;
using Registry.V2.Manifests;

namespace Registry.V1.Web;

/// <summary>One tag as the repository page lists it: V1 (an image id) or v2 (a manifest digest; an index lists its platforms).</summary>
public sealed record TagView(
    string Name, bool IsV2, string Reference, long? Size, DateTimeOffset? Created, IReadOnlyList<string> Platforms);

/// <summary>One step of an image's history: V1 ancestry (one image each) or a v2 config history entry and its layer.</summary>
public sealed record HistoryView(string Id, string CreatedBy, long? Size, DateTimeOffset? Created);

/// <summary>What the repository page shows; <see cref="Found"/> is false when neither protocol has the repository.</summary>
public sealed record RepositoryView(
    string Name, bool Found, string Description, bool IsPrivate, IReadOnlyList<TagView> Tags, string? Selected, IReadOnlyList<HistoryView> History);

/// <summary>
/// Reads a repository for the web interface from both layouts through their own readers: V1 tags
/// (<see cref="RepositoryService"/>), image json and ancestry (<see cref="AncestryReader"/>), v2 tags and manifests
/// (<see cref="ManifestStore"/>) and image configs. Work is bounded: at most <see cref="MaxTags"/> tags are
/// described, and the history is read for one tag only.
/// </summary>
public sealed class RepositoryBrowser(IStorageDriver storage, RepositoryService v1, ManifestStore v2)
{
    public const int MaxTags = 200;
    private const int MaxHistory = 256;
    private const int MaxConfigBytes = 4 * 1024 * 1024;

    public async Task<RepositoryView> ReadAsync(RepositoryName name, string? selected, CancellationToken ct)
    {
        var tags = new List<TagView>();
        var v1Tags = await v1.ListTagsAsync(name, ct);
        foreach (var (tag, imageId) in (v1Tags ?? []).Take(MaxTags))
            tags.Add(await DescribeV1Async(tag, imageId, ct));
        var v2Tags = await v2.ListTagsAsync(name.FullName, ct);
        foreach (var tag in (v2Tags ?? []).Take(MaxTags - tags.Count))
            if (await DescribeV2Async(name.FullName, tag, ct) is { } view) tags.Add(view);

        var description = await storage.GetContentAsync(StoragePaths.Description(name), ct) is { } d ? System.Text.Encoding.UTF8.GetString(d) : "";
        var found = v1Tags is not null || v2Tags is not null || await storage.DirectoryExistsAsync(StoragePaths.RepositoryDir(name), ct);
        var pick = tags.FirstOrDefault(t => t.Name == selected) ?? tags.FirstOrDefault(t => t.Name == "latest") ?? tags.FirstOrDefault();
        var history = pick is null ? [] : pick.IsV2 ? await V2HistoryAsync(name.FullName, pick.Name, ct) : await V1HistoryAsync(pick.Reference, ct);
        return new RepositoryView(name.FullName, found, description, await v1.IsPrivateAsync(name, ct), tags, pick?.Name, history);
    }

    private async Task<TagView> DescribeV1Async(string tag, string imageId, CancellationToken ct)
    {
        if (!ImageId.TryParse(imageId, out var id)) return new TagView(tag, false, imageId, null, null, []);
        var (created, platform, _) = await ReadV1ImageAsync(id, ct);
        long total = 0;
        foreach (var ancestor in (await AncestryReader.ReadAsync(storage, id, ct)).Take(MaxHistory))
            if (ImageId.TryParse(ancestor, out var a)) total += await storage.SizeAsync(StoragePaths.ImageLayer(a), ct) ?? 0;
        return new TagView(tag, false, imageId, total, created, platform is null ? [] : [platform]);
    }

    private async Task<IReadOnlyList<HistoryView>> V1HistoryAsync(string imageId, CancellationToken ct)
    {
        if (!ImageId.TryParse(imageId, out var id)) return [];
        var history = new List<HistoryView>();
        foreach (var ancestor in (await AncestryReader.ReadAsync(storage, id, ct)).Take(MaxHistory))
        {
            if (!ImageId.TryParse(ancestor, out var a)) continue;
            var (created, _, createdBy) = await ReadV1ImageAsync(a, ct);
            history.Add(new HistoryView(ancestor, createdBy, await storage.SizeAsync(StoragePaths.ImageLayer(a), ct), created));
        }
        return history;
    }

    /// <summary>An image json's created time, "os/architecture" and the command that made it (Docker Registry HTTP API V1, 'Get image layer json').</summary>
    private async Task<(DateTimeOffset? Created, string? Platform, string CreatedBy)> ReadV1ImageAsync(ImageId id, CancellationToken ct)
    {
        if (await storage.GetContentAsync(StoragePaths.ImageJson(id), ct) is not { } json) return (null, null, "");
        using var doc = Registry.Core.Http.JsonBody.TryParse(json);
        if (doc is null || doc.RootElement.ValueKind != JsonValueKind.Object) return (null, null, "");
        var root = doc.RootElement;
        var platform = Text(root, "architecture") is { } arch ? $"{Text(root, "os") ?? "linux"}/{arch}" : null;
        var createdBy = root.TryGetProperty("container_config", out var config) && config.ValueKind == JsonValueKind.Object
            && config.TryGetProperty("Cmd", out var cmd) && cmd.ValueKind == JsonValueKind.Array
            ? string.Join(' ', cmd.EnumerateArray().Select(c => c.ToString()))
            : "";
        return (Time(root, "created"), platform, createdBy);
    }

    private async Task<TagView?> DescribeV2Async(string name, string tag, CancellationToken ct)
    {
        if (await v2.GetByTagAsync(name, tag, ct) is not { } stored) return null;
        var document = ManifestDocument.TryParse(stored.Content);
        if (document is null) return null;
        if (document.IsIndex)
        {
            var total = document.Manifests.Sum(m => m.Size ?? 0);
            return new TagView(tag, true, stored.Digest.ToString(), total, null, IndexPlatforms(stored.Content));
        }
        var size = document.Layers.Sum(l => l.Size ?? 0) + (document.Config?.Size ?? 0);
        var config = await ReadConfigAsync(document, ct);
        var platform = config is { } c && Text(c.RootElement, "architecture") is { } arch ? $"{Text(c.RootElement, "os") ?? "linux"}/{arch}" : null;
        var created = config is null ? null : Time(config.RootElement, "created");
        config?.Dispose();
        return new TagView(tag, true, stored.Digest.ToString(), size, created, platform is null ? [] : [platform]);
    }

    /// <summary>
    /// The config's history entries, each with the size of the layer it made (entries marked <c>empty_layer</c> made
    /// none), as the OCI image-spec, 'Image Configuration', pairs them. An index shows its first image's history.
    /// </summary>
    private async Task<IReadOnlyList<HistoryView>> V2HistoryAsync(string name, string tag, CancellationToken ct)
    {
        if (await v2.GetByTagAsync(name, tag, ct) is not { } stored || ManifestDocument.TryParse(stored.Content) is not { } document) return [];
        if (document.IsIndex)
        {
            if (document.Manifests.FirstOrDefault()?.Digest is not { } child || await v2.GetByDigestAsync(name, child, ct) is not { } inner) return [];
            if (ManifestDocument.TryParse(inner.Content) is not { IsIndex: false } innerDocument) return [];
            document = innerDocument;
        }
        using var config = await ReadConfigAsync(document, ct);
        var history = new List<HistoryView>();
        var layer = 0;
        if (config is not null && config.RootElement.TryGetProperty("history", out var entries) && entries.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in entries.EnumerateArray().Take(MaxHistory))
            {
                if (entry.ValueKind != JsonValueKind.Object) continue;
                var empty = entry.TryGetProperty("empty_layer", out var e) && e.ValueKind == JsonValueKind.True;
                var descriptor = !empty && layer < document.Layers.Count ? document.Layers[layer++] : null;
                history.Add(new HistoryView(descriptor?.DigestText ?? "", Text(entry, "created_by") ?? "", descriptor?.Size ?? (empty ? 0 : null), Time(entry, "created")));
            }
        }
        for (; layer < document.Layers.Count && history.Count < MaxHistory; layer++)
            history.Add(new HistoryView(document.Layers[layer].DigestText, "", document.Layers[layer].Size, null));
        return history;
    }

    private async Task<JsonDocument?> ReadConfigAsync(ManifestDocument document, CancellationToken ct)
    {
        if (document.Config is not { Digest: { } digest, Size: <= MaxConfigBytes }) return null;
        var content = await storage.GetContentAsync(DistributionPaths.BlobData(digest), ct);
        if (content is null) return null;
        var doc = Registry.Core.Http.JsonBody.TryParse(content);
        if (doc is null || doc.RootElement.ValueKind == JsonValueKind.Object) return doc;
        doc.Dispose();
        return null;
    }

    /// <summary>"os/architecture[/variant]" of each child of an image index (OCI image-spec, 'Image Index', platform).</summary>
    private static IReadOnlyList<string> IndexPlatforms(byte[] content)
    {
        using var doc = Registry.Core.Http.JsonBody.TryParse(content);
        if (doc is null || !doc.RootElement.TryGetProperty("manifests", out var manifests) || manifests.ValueKind != JsonValueKind.Array) return [];
        var platforms = new List<string>();
        foreach (var m in manifests.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("platform", out var p) || p.ValueKind != JsonValueKind.Object) continue;
            var text = $"{Text(p, "os") ?? "?"}/{Text(p, "architecture") ?? "?"}";
            platforms.Add(Text(p, "variant") is { } variant ? $"{text}/{variant}" : text);
        }
        return platforms;
    }

    private static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static DateTimeOffset? Time(JsonElement element, string property) =>
        Text(element, property) is { } text && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var time) ? time : null;
}
