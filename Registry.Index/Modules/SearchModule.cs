using System.Globalization;
using System.Text;
using Carter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Core.Observability;
using Registry.Index.Search;

namespace Registry.Index.Modules;

/// <summary>
/// <c>GET /v1/search?q=&amp;n=&amp;page=</c> (Docker Hub API, 'Search'): reads the query, asks <see cref="SearchService"/> and
/// writes its outcome as the V1 API does.
/// </summary>
public sealed class SearchModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        // Search belongs to the index (Docker Registry and Index spec, 'Index'): a registry-only instance leaves it out.
        if (!app.ServiceProvider.GetRequiredService<RegistrySettings>().Roles.ServesIndex) return;
        app.MapMethods("/v1/search", ["GET", "HEAD"], SearchAsync);
    }

    private static async Task<IResult> SearchAsync(HttpContext http, SearchService search, CancellationToken ct)
    {
        var request = http.Request;
        var query = request.Query["q"].ToString();
        SearchResult result;
        using (RegistryMetrics.TimeSearch())
            result = await search.SearchAsync(http, query, ParseOrNull(request.Query["n"].ToString()), ParseOrNull(request.Query["page"].ToString()), ct);
        return result.Outcome switch
        {
            SearchOutcome.Disabled => V1Results.Error(404, "Search is disabled on this registry (search_backend is not set)"),
            SearchOutcome.QueryTooLong => V1Results.Error(400, $"Search term too long (at most {SearchService.MaxQueryLength} characters)"),
            SearchOutcome.QueryHasNul => V1Results.Error(400, "Search term must not contain NUL characters"),
            // Same response as V1Results.Json: status 200, no-cache headers, the body as given.
            _ => V1Results.Raw(Encoding.UTF8.GetBytes(SearchBody(result.Page!, query, result.PageSize, result.PageNumber)), immutable: false),
        };
    }

    /// <summary>
    /// The body exactly as <see cref="PyJson"/> would serialise it (sorted keys, Python separators), written
    /// straight from the page: building a JSON tree of every result first cost more than the search itself
    /// for a cached page.
    /// </summary>
    public static string SearchBody(SearchPage found, string query, int pageSize, int page)
    {
        var numPages = Math.Max(1, (found.NumResults + pageSize - 1) / pageSize);
        var body = new StringBuilder(128 + 160 * found.Results.Count);
        body.Append("{\"num_pages\": ").Append(numPages.ToString(CultureInfo.InvariantCulture))
            .Append(", \"num_results\": ").Append(found.NumResults.ToString(CultureInfo.InvariantCulture))
            .Append(", \"page\": ").Append(page.ToString(CultureInfo.InvariantCulture))
            .Append(", \"page_size\": ").Append(pageSize.ToString(CultureInfo.InvariantCulture))
            .Append(", \"query\": ").Append(PyJson.Serialize(query))
            .Append(", \"results\": [");
        for (var i = 0; i < found.Results.Count; i++)
        {
            var entry = found.Results[i];
            var official = entry.Name.StartsWith(RepositoryName.DefaultNamespace + "/", StringComparison.Ordinal);
            body.Append(i == 0 ? "{" : ", {")
                .Append("\"description\": ").Append(PyJson.Serialize(entry.Description))
                .Append(", \"is_automated\": false, \"is_official\": ").Append(official ? "true" : "false")
                .Append(", \"is_trusted\": false, \"name\": ").Append(PyJson.Serialize(entry.Name))
                .Append(", \"star_count\": ").Append(entry.StarCount.ToString(CultureInfo.InvariantCulture))
                .Append('}');
        }

        return body.Append("]}").ToString();
    }

    /// <summary>An integer, with out-of-range values saturated (so a huge n means "as many as allowed"); null when not a number.</summary>
    private static long? ParseOrNull(string s)
    {
        s = s.Trim();
        if (s.Length == 0) return null;
        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return value;
        var digits = s.TrimStart('+', '-');
        if (digits.Length > 0 && digits.All(char.IsAsciiDigit)) return s.StartsWith('-') ? long.MinValue : long.MaxValue;
        return null;
    }
}
