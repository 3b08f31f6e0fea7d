using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Registry.Core.Concurrency;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Database.Sqlite;
using Registry.Index.Search;

namespace Registry.V1.Repositories;

public enum PutTagResult { Ok, InvalidTag, InvalidData, ImageNotFound }

public enum PutPropertiesResult { Ok, InvalidData }

/// <summary>
/// Tags, tag metadata, properties and repository deletion (Docker Registry HTTP API V1, 'Tags'). Every change that can create or
/// remove a repository updates the search index in the same request. A tag write checks its image and writes the
/// tag under the garbage collector's shared side (<see cref="GcCoordinator"/>), touching the image's ancestry.
/// </summary>
public sealed partial class RepositoryService(
    IStorageDriver storage, RepositoryCatalog catalog, IRepositoryImages membership, IKeyedLock locks, IGcCoordinator gc, Registry.Index.Hub.IHubStore hub)
{
    public const string DefaultTagJson =
        "{\"arch\": \"amd64\", \"docker_go_version\": null, \"docker_version\": null, \"kernel\": null, \"last_update\": null, \"os\": \"linux\"}";

    /// <summary>The tags as <c>{name: id}</c> in on-disk form, or null when the repository has nothing.</summary>
    public async Task<SortedDictionary<string, string>?> ListTagsAsync(RepositoryName name, CancellationToken ct)
    {
        if (await StorageTree.RepositoryAsync(storage, name, ct) is not { } directory) return null;
        var tags = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in directory.TagFiles)
            if (await StorageTree.ReadTagAsync(storage, path, ct) is { } value)
                tags[StoragePaths.TagOfFileName(StoragePaths.FileName(path))] = value;
        return tags;
    }

    public async Task<string?> GetTagAsync(RepositoryName name, string tag, CancellationToken ct)
    {
        var content = await storage.GetContentAsync(StoragePaths.Tag(name, tag), ct);
        return content is null ? null : Encoding.UTF8.GetString(content).Trim();
    }

    public async Task<PutTagResult> PutTagAsync(RepositoryName name, string tag, byte[] body, string userAgent, CancellationToken ct)
    {
        if (!TagName.IsValid(tag)) return PutTagResult.InvalidTag;
        string? value;
        using (var doc = JsonBody.TryParse(body))
        {
            if (doc is null || doc.RootElement.ValueKind != JsonValueKind.String) return PutTagResult.InvalidData;
            value = doc.RootElement.GetString();
        }
        if (string.IsNullOrEmpty(value)) return PutTagResult.InvalidData;
        if (!ImageId.TryParse(value, out var imageId)) return PutTagResult.ImageNotFound;

        var metadata = Encoding.UTF8.GetBytes(PyJson.Serialize(TagMetadata(userAgent, DateTimeOffset.UtcNow)));
        await using var held = await locks.AcquireAsync(name.LockKey, ct);
        IReadOnlyList<string> ancestry;
        // The image check and the tag write under the collector's shared side; the index updates after it.
        await using (await gc.EnterWriteAsync(ct))
        {
            if (!await storage.ExistsAsync(StoragePaths.ImageJson(imageId), ct)) return PutTagResult.ImageNotFound;
            ancestry = await AncestryReader.ReadAsync(storage, imageId, CancellationToken.None);
            gc.TouchImages(ancestry);
            // A local tag makes a mirrored repository local: the mirror never asks the upstream for it again.
            await storage.DeleteAsync(StoragePaths.Mirror(name), CancellationToken.None);
            await storage.PutContentAsync(StoragePaths.Tag(name, tag), Encoding.UTF8.GetBytes(imageId.Value), CancellationToken.None);
            await storage.PutContentAsync(StoragePaths.TagJson(name, tag), metadata, CancellationToken.None);
            if (tag == "latest") await storage.PutContentAsync(StoragePaths.RepositoryJson(name), metadata, CancellationToken.None);
        }
        await membership.AddAsync(name.FullName, ancestry, CancellationToken.None);
        await catalog.SyncAsync(name, CancellationToken.None);
        return PutTagResult.Ok;
    }

    /// <summary>Deletes a tag; false when the tag does not exist.</summary>
    public async Task<bool> DeleteTagAsync(RepositoryName name, string tag, CancellationToken ct)
    {
        await using var held = await locks.AcquireAsync(name.LockKey, ct);
        if (!await DeleteTagFilesAsync(name, tag)) return false;
        await storage.DeleteAsync(StoragePaths.Mirror(name), CancellationToken.None);
        await catalog.SyncAsync(name, CancellationToken.None);
        return true;
    }

    /// <summary>Deletes every tag and the repository directory (images stay); false when nothing was there.</summary>
    public async Task<bool> DeleteRepositoryAsync(RepositoryName name, CancellationToken ct)
    {
        await using var held = await locks.AcquireAsync(name.LockKey, ct);
        var dir = StoragePaths.RepositoryDir(name);
        var children = await storage.ListAsync(dir, ct);
        if (children.Count == 0) return false;
        // The tag files, their metadata and the index lists all live in this directory; images stay.
        await storage.DeleteAsync(dir, CancellationToken.None);
        // Gone from storage, so gone from the shared and the private search index alike.
        await catalog.SyncAsync(name, CancellationToken.None);
        await membership.RemoveRepositoryAsync(name.FullName, CancellationToken.None);
        // Its stars and comments go with it, unless v2 tags still hold the name.
        if (!await catalog.HoldsAsync(name, CancellationToken.None)) await hub.RemoveRepositoryAsync(name.FullName, CancellationToken.None);
        return true;
    }

    public async Task<byte[]> GetTagJsonAsync(RepositoryName name, string tag, CancellationToken ct) =>
        await storage.GetContentAsync(StoragePaths.TagJson(name, tag), ct) ?? Encoding.UTF8.GetBytes(DefaultTagJson);

    public Task<byte[]?> GetRepositoryJsonAsync(RepositoryName name, CancellationToken ct) =>
        storage.GetContentAsync(StoragePaths.RepositoryJson(name), ct);

    public Task<bool> IsPrivateAsync(RepositoryName name, CancellationToken ct) =>
        storage.ExistsAsync(StoragePaths.Private(name), ct);

    /// <summary>
    /// <c>{"access": "private"|"public"}</c> toggles <c>_private</c>; <c>{"description": "..."}</c> sets the searchable
    /// description. Anything that is not a non-empty object with at least one of those keys is invalid.
    /// </summary>
    public async Task<PutPropertiesResult> PutPropertiesAsync(RepositoryName name, byte[] body, CancellationToken ct)
    {
        string? access = null, description = null;
        using (var doc = JsonBody.TryParse(body))
        {
            if (doc is null || doc.RootElement.ValueKind != JsonValueKind.Object) return PutPropertiesResult.InvalidData;
            var root = doc.RootElement;
            var hasAccess = root.TryGetProperty("access", out var a);
            var hasDescription = root.TryGetProperty("description", out var d);
            if (!hasAccess && !hasDescription) return PutPropertiesResult.InvalidData;
            if (hasAccess) access = a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            if (hasDescription)
            {
                if (d.ValueKind is not (JsonValueKind.String or JsonValueKind.Null)) return PutPropertiesResult.InvalidData;
                description = d.GetString() ?? "";
                if (description.Length > RepositoryCatalog.MaxDescriptionLength) return PutPropertiesResult.InvalidData;
            }
        }

        await using var held = await locks.AcquireAsync(name.LockKey, ct);
        if (access == "private") await storage.PutContentAsync(StoragePaths.Private(name), Array.Empty<byte>(), CancellationToken.None);
        else if (access == "public") await storage.DeleteAsync(StoragePaths.Private(name), CancellationToken.None);
        if (description is not null)
            await storage.PutContentAsync(StoragePaths.Description(name), Encoding.UTF8.GetBytes(description), CancellationToken.None);
        if (access is "private" or "public" || description is not null)
            await catalog.SyncAsync(name, CancellationToken.None);
        return PutPropertiesResult.Ok;
    }

    /// <summary>Tag metadata from the client's User-Agent (Docker Registry HTTP API V1, 'Tags').</summary>
    public static JsonObject TagMetadata(string userAgent, DateTimeOffset now)
    {
        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in UserAgentToken().Matches(userAgent))
            parts.TryAdd(m.Groups[1].Value.ToLowerInvariant(), m.Groups[2].Value);
        var metadata = new JsonObject { ["last_update"] = now.ToUnixTimeSeconds() };
        if (parts.TryGetValue("docker", out var docker)) metadata["docker_version"] = docker;
        if (parts.TryGetValue("go", out var go)) metadata["docker_go_version"] = go;
        foreach (var key in new[] { "arch", "kernel", "os" })
            if (parts.TryGetValue(key, out var value)) metadata[key] = value.ToLowerInvariant();
        return metadata;
    }

    private async Task<bool> DeleteTagFilesAsync(RepositoryName name, string tag)
    {
        if (!await storage.DeleteAsync(StoragePaths.Tag(name, tag), CancellationToken.None)) return false;
        await storage.DeleteAsync(StoragePaths.TagJson(name, tag), CancellationToken.None);
        if (tag == "latest") await storage.DeleteAsync(StoragePaths.RepositoryJson(name), CancellationToken.None);
        return true;
    }

    [GeneratedRegex(@"([^\s/]+)/([^\s/]+)", RegexOptions.CultureInvariant)]
    private static partial Regex UserAgentToken();
}
