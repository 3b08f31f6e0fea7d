using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Registry.Core.Concurrency;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Search;

namespace Registry.Index.Repositories;

public enum PutImagesResult { Ok, DecodeError, InvalidData }

/// <summary>
/// The index's repository image lists (<c>_index_images</c>, Docker Hub API, 'Repositories'). The first list is stored
/// verbatim; later ones are merged, keeping entries that carry a checksum. The list is written under the garbage
/// collector's shared side (<see cref="GcCoordinator"/>) with its images touched: a push about to reuse an image
/// that exists now keeps it through a running collection.
/// </summary>
public sealed class IndexImagesService(IStorageDriver storage, RepositoryCatalog catalog, IRepositoryImages membership, IKeyedLock locks, IGcCoordinator gc)
{
    public async Task<PutImagesResult> PutImagesAsync(RepositoryName name, byte[] body, CancellationToken ct)
    {
        JsonArray incoming;
        using (var doc = JsonBody.TryParse(body))
        {
            if (doc is null) return PutImagesResult.DecodeError;
            if (doc.RootElement.ValueKind != JsonValueKind.Array) return PutImagesResult.InvalidData;
            incoming = JsonArray.Create(doc.RootElement.Clone())!;
        }
        if (incoming.Any(e => e is not JsonObject o || !o.TryGetPropertyValue("id", out var id) || id is not JsonValue))
            return PutImagesResult.InvalidData;

        await using var held = await locks.AcquireAsync(name.LockKey, ct);
        var path = StoragePaths.IndexImages(name);
        var existing = await storage.GetContentAsync(path, ct);
        var list = existing is null ? incoming : Merge(incoming, ParseStored(existing));
        // The index database first: while it is down the request fails (503) before storage changes, so a failed
        // push leaves no repository that search does not know.
        await membership.SetAsync(name.FullName, ImageIds(list), CancellationToken.None);
        await using (await gc.EnterWriteAsync(ct))
        {
            gc.TouchImages(ImageIds(list));
            await storage.PutContentAsync(path, existing is null ? body : Encoding.UTF8.GetBytes(PyJson.Serialize(list)), CancellationToken.None);
        }
        // On every list, not only the first: the retry of a push whose sync failed (database gone after the write) repairs search.
        await catalog.SyncAsync(name, CancellationToken.None);
        return PutImagesResult.Ok;
    }

    /// <summary>The stored list byte for byte, or null when the repository has none.</summary>
    public Task<byte[]?> GetImagesAsync(RepositoryName name, CancellationToken ct) =>
        storage.GetContentAsync(StoragePaths.IndexImages(name), ct);

    /// <summary>
    /// <c>new ++ existing</c>, one entry per id in first-seen order: a kept entry with a checksum is never
    /// replaced, otherwise a later entry replaces it; each entry is reduced to id and checksum.
    /// </summary>
    public static JsonArray Merge(JsonArray incoming, JsonArray existing)
    {
        var order = new List<string>();
        var kept = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var node in incoming.Concat(existing))
        {
            if (node is not JsonObject entry || !entry.TryGetPropertyValue("id", out var idNode) || idNode is null) continue;
            var id = idNode.ToJsonString();
            if (kept.TryGetValue(id, out var current) && current.ContainsKey("checksum")) continue;
            var reduced = new JsonObject { ["id"] = idNode.DeepClone() };
            if (entry.TryGetPropertyValue("checksum", out var checksum)) reduced["checksum"] = checksum?.DeepClone();
            if (!kept.ContainsKey(id)) order.Add(id);
            kept[id] = reduced;
        }
        var result = new JsonArray();
        foreach (var id in order) result.Add(kept[id]);
        return result;
    }

    /// <summary>The string ids of an image list (other id types cannot name an image).</summary>
    public static IEnumerable<string> ImageIds(JsonArray list) =>
        list.OfType<JsonObject>()
            .Select(e => e.TryGetPropertyValue("id", out var id) && id is JsonValue v && v.TryGetValue<string>(out var s) ? s : null)
            .OfType<string>();

    /// <summary>Parses a stored list leniently (any formatting, extra keys); an unreadable file is an empty list.</summary>
    public static JsonArray ParseStored(byte[] stored)
    {
        try
        {
            return JsonNode.Parse(stored) as JsonArray ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
