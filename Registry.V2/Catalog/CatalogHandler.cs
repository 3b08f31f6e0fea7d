using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Index.Search;
using Registry.V2.Access;
using Registry.V2.Http;

namespace Registry.V2.Catalog;

/// <summary>
/// <c>GET /v2/_catalog[?n=&amp;last=]</c> (Docker Registry HTTP API V2, 'Listing Repositories'): the repositories of the distribution layout in catalog
/// order ('/' before every other character), only those the caller may pull, paged with <c>Link</c>; from the index database
/// or a walk of storage (<see cref="DistributionCatalog"/>), with the same answers.
/// </summary>
public sealed class CatalogHandler(DistributionCatalog catalog, V2Access access, RegistrySettings settings)
{
    /// <summary>Page size when the request has no <c>n</c> (distribution's default).</summary>
    public const int DefaultPageSize = 100;

    public async Task<IResult> ListAsync(HttpContext context, CancellationToken ct)
    {
        var max = settings.CatalogMaxEntries;
        var n = V2Paging.ParseCount(context.Request.Query, Math.Min(DefaultPageSize, max), max, out var error);
        if (error is not null) return error;

        var last = context.Request.Query["last"].ToString();
        var page = new List<string>();
        var more = false;
        if (n > 0)
        {
            await foreach (var name in catalog.NamesAfterAsync(last, n.Value + 1, ct))
            {
                if (!await access.CanListAsync(context, name, ct)) continue;
                if (page.Count == n)
                {
                    more = true;
                    break;
                }
                page.Add(name);
            }
        }
        if (more) context.Response.Headers.Link = V2Paging.NextLink("/v2/_catalog", page[^1], n!.Value);

        var body = JsonSerializer.SerializeToUtf8Bytes(new CatalogPage(page));
        context.Response.ContentLength = body.Length;
        return Results.Bytes(body, "application/json");
    }
}

/// <summary>The body of <c>GET /v2/_catalog</c>.</summary>
public sealed record CatalogPage([property: JsonPropertyName("repositories")] IReadOnlyList<string> Repositories);
