using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Registry.V2.Http;
using Registry.V2.Manifests;

namespace Registry.V2.Tags;

/// <summary>
/// <c>GET /v2/&lt;name&gt;/tags/list[?n=&amp;last=]</c> (OCI distribution-spec v1.1, 'Listing Tags'): the repository's tags in ordinal order,
/// as distribution lists them (<see cref="ManifestStore.ListTagsAsync"/>), paged with <c>Link</c> when more follow.
/// </summary>
public sealed class TagsHandler(ManifestStore store)
{
    public async Task<IResult> ListAsync(HttpContext context, string name, CancellationToken ct)
    {
        var n = V2Paging.ParseCount(context.Request.Query, null, int.MaxValue, out var error);
        if (error is not null) return error;

        var tags = await store.ListTagsAsync(name, ct);
        if (tags is null) return V2Results.Error(V2ErrorCode.NameUnknown, new Dictionary<string, string> { ["name"] = name });

        // The list is sorted: the page starts at the first tag greater than last (which need not exist).
        var last = context.Request.Query["last"].ToString();
        var start = 0;
        if (last.Length > 0)
            while (start < tags.Count && string.CompareOrdinal(tags[start], last) <= 0) start++;
        var count = Math.Min(n ?? int.MaxValue, tags.Count - start);
        IReadOnlyList<string> page = start == 0 && count == tags.Count ? tags : tags.Skip(start).Take(count).ToArray();
        if (n is > 0 && start + count < tags.Count)
            context.Response.Headers.Link = V2Paging.NextLink($"/v2/{name}/tags/list", page[^1], n.Value);

        var body = JsonSerializer.SerializeToUtf8Bytes(new TagList(name, page));
        context.Response.ContentLength = body.Length;
        return Results.Bytes(body, "application/json");
    }
}

/// <summary>The body of <c>GET /v2/&lt;name&gt;/tags/list</c>.</summary>
public sealed record TagList(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("tags")] IReadOnlyList<string> Tags);
