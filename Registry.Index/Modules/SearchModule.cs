using System.Globalization;
using System.Text;
using Carter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Index.Accounts;
using Registry.Index.Search;

namespace Registry.Index.Modules;

/// <summary><c>GET /v1/search?q=&amp;n=&amp;page=</c> (spec §3.7.6), answered from the search index, never from storage.</summary>
public sealed class SearchModule : ICarterModule
{
    public const int DefaultPageSize = 25;
    public const int MaxPageSize = 100;
    public const int MaxQueryLength = 255;

    public void AddRoutes(IEndpointRouteBuilder app) => app.MapMethods("/v1/search", ["GET", "HEAD"], SearchAsync);

    private static async Task<IResult> SearchAsync(
        HttpContext http, ISearchIndex index, IPrivateRepositories privates, AuthSettings auth, Authenticator authenticator, RegistrySettings settings, CancellationToken ct)
    {
        if (!settings.SearchEnabled)
            return V1Results.Error(404, "Search is disabled on this registry (search_backend is not set)");

        var request = http.Request;
        var query = request.Query["q"].ToString();
        if (query.Length > MaxQueryLength)
            return V1Results.Error(400, $"Search term too long (at most {MaxQueryLength} characters)");
        // SQLite's FTS5 query parser ends a string at NUL and fails; no repository name can contain one anyway.
        if (query.Contains('\0'))
            return V1Results.Error(400, "Search term must not contain NUL characters");
        var pageSize = Clamp(ParseOrNull(request.Query["n"].ToString()) ?? DefaultPageSize, 1, MaxPageSize);
        var page = Clamp(ParseOrNull(request.Query["page"].ToString()) ?? 1, 1, int.MaxValue);

        var found = await SearchVisibleAsync(http, index, privates, auth, authenticator, query, pageSize, page, ct);
        // Same response as V1Results.Json: status 200, no-cache headers, the body as given.
        return V1Results.Raw(Encoding.UTF8.GetBytes(SearchBody(found, query, pageSize, page)), immutable: false);
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

    /// <summary>
    /// The shared index's page, or, for a user who may read private repositories (their own; admins all), those
    /// matches first and then the shared ones, paged as one list. Wrong credentials search as anonymous.
    /// </summary>
    private static async Task<SearchPage> SearchVisibleAsync(
        HttpContext http, ISearchIndex index, IPrivateRepositories privates, AuthSettings auth, Authenticator authenticator,
        string query, int pageSize, int page, CancellationToken ct)
    {
        if (!auth.Enabled) return await index.SearchAsync(query, pageSize, page, ct);
        var principal = await authenticator.AuthenticateAsync(http, ct);
        if (principal.Kind != PrincipalKind.User) return await index.SearchAsync(query, pageSize, page, ct);
        var mine = await privates.SearchAsync(query, principal.User, auth.Admins.Contains(principal.User!), ct);
        if (mine.Count == 0) return await index.SearchAsync(query, pageSize, page, ct);

        var offset = (long)(page - 1) * pageSize;
        var results = mine.Skip((int)Math.Min(offset, mine.Count)).Take(pageSize).ToList();
        var publicOffset = Math.Max(0, offset - mine.Count);
        var shared = await index.SearchRangeAsync(query, publicOffset, Math.Max(1, pageSize - results.Count), ct);
        if (results.Count < pageSize) results.AddRange(shared.Results.Take(pageSize - results.Count));
        return new SearchPage(mine.Count + shared.NumResults, results);
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

    private static int Clamp(long value, int min, int max) => (int)Math.Clamp(value, min, max);
}
