using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Registry.V2.Http;
using Registry.V2.Routing;

namespace Registry.V2.Manifests;

/// <summary>
/// <c>GET /v2/&lt;name&gt;/tags/list[?n=&amp;last=]</c> (v2 spec §1.8): the repository's tags in ordinal order,
/// dangling ones left out, paged with <c>Link</c> when more follow.
/// </summary>
public sealed class TagsHandler(ManifestStore store) : IV2RouteHandler
{
    public IReadOnlyDictionary<V2RouteKind, string[]> Methods { get; } = new Dictionary<V2RouteKind, string[]>
    {
        [V2RouteKind.Tags] = ["GET"],
    };

    public async Task<IResult> HandleAsync(HttpContext context, V2Route route, CancellationToken ct)
    {
        var n = V2Paging.ParseCount(context.Request.Query, null, int.MaxValue, out var error);
        if (error is not null) return error;

        var tags = await store.ListTagsAsync(route.Name, ct);
        if (tags is null) return V2Results.Error(V2ErrorCode.NameUnknown, new Dictionary<string, string> { ["name"] = route.Name });

        var last = context.Request.Query["last"].ToString();
        IEnumerable<string> after = last.Length == 0 ? tags : tags.Where(t => string.CompareOrdinal(t, last) > 0);
        var remaining = after.ToList();
        var page = n is { } count ? remaining.Take(count).ToList() : remaining;
        if (n is > 0 && remaining.Count > page.Count)
            context.Response.Headers.Link = V2Paging.NextLink($"/v2/{route.Name}/tags/list", page[^1], n.Value);

        var body = JsonSerializer.SerializeToUtf8Bytes(new TagList(route.Name, page));
        context.Response.ContentLength = body.Length;
        return Results.Bytes(body, "application/json");
    }
}
