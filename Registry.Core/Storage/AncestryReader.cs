using System.Text.Json;
using Registry.Core.Names;

namespace Registry.Core.Storage;

/// <summary>
/// The one reader of a V1 image's ancestry (Docker Registry HTTP API V1, "Get image ancestry"): the image id
/// followed by its parents up to the root. Used for a new image's own ancestry (PUT json), a tag's images
/// (membership and the collector's touches), the collector's mark phase and the membership rebuild.
/// <para>
/// The Python docker-registry writes <c>[id] + the parent's ancestry</c> at PUT json and trusts that file. Three
/// copies of this reader used to differ on data that file does not cover; the choices here keep every caller safe:
/// </para>
/// <list type="bullet">
/// <item>The ancestry file counts only when it is a non-empty array of strings that starts with the image's own
/// id (every file the Python registry or this one writes does). Anything else is damage, and a damaged ancestry
/// must not let the collector drop a parent nor be copied into a child's ancestry.</item>
/// <item>Without a usable file (images written by very old servers), the chain of <c>parent</c> fields is
/// followed through the image json files, so membership and the collector see the same parents as the chain.</item>
/// <item>A <c>parent</c> counts when it is truthy in Python's sense and its text is an image id: the rule PUT json
/// applies to a new image's parent (<see cref="ParentOf"/>), so a parent PUT accepted is never lost on the way back.</item>
/// </list>
/// </summary>
public static class AncestryReader
{
    /// <summary>The longest parent chain followed: a bound against cycles that slip past the check and absurd depths.</summary>
    public const int MaxDepth = 4096;

    /// <summary>The image and its ancestors, newest first; at least the image itself.</summary>
    public static async Task<IReadOnlyList<string>> ReadAsync(IStorageDriver storage, ImageId id, CancellationToken ct)
    {
        if (await storage.GetContentAsync(StoragePaths.ImageAncestry(id), ct) is { } stored && ParseFile(stored, id) is { } list)
            return list;

        var chain = new List<string>();
        var current = id;
        while (chain.Count < MaxDepth && !chain.Contains(current.Value))
        {
            chain.Add(current.Value);
            var json = await storage.GetContentAsync(StoragePaths.ImageJson(current), ct);
            if (json is null) break;
            using var doc = Http.JsonBody.TryParse(json);
            if (doc is null || ParentOf(doc.RootElement) is not { } parent || !ImageId.TryParse(parent, out current)) break;
        }
        return chain;
    }

    /// <summary>
    /// The text of an image json's <c>parent</c> when it is truthy (not null, false, 0, "", [] or {}), else null.
    /// The text need not be an image id; callers check.
    /// </summary>
    public static string? ParentOf(JsonElement imageJson) =>
        imageJson.ValueKind == JsonValueKind.Object && imageJson.TryGetProperty("parent", out var parent) && IsTruthy(parent)
            ? parent.ToString()
            : null;

    /// <summary>The stored ancestry when it is usable for <paramref name="id"/> (see the type's remarks), else null.</summary>
    private static List<string>? ParseFile(byte[] stored, ImageId id)
    {
        try
        {
            return JsonSerializer.Deserialize<List<string>>(stored) is { Count: > 0 } list
                   && list[0] == id.Value && list.TrueForAll(entry => entry is not null)
                ? list
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsTruthy(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.False => false,
        JsonValueKind.String => e.GetString()!.Length > 0,
        JsonValueKind.Number => e.GetDouble() != 0,
        JsonValueKind.Array => e.GetArrayLength() > 0,
        JsonValueKind.Object => e.EnumerateObject().Any(),
        _ => true,
    };
}
