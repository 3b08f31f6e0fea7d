using System.Globalization;
using System.Text.Json;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Index.Search;

namespace Registry.V1.Mirroring;

/// <summary>
/// The upstream index's <c>/v1/search</c> (Docker Hub API, 'Search') for <see cref="SearchService"/>'s merge: pages of
/// 100 until the window is covered, names as local search spells them (a one-part name is <c>library/</c>'s). Any
/// failure is one warning and no upstream results.
/// </summary>
public sealed class MirrorSearch(V1Upstream upstream, ILogger<MirrorSearch> logger) : IUpstreamSearch
{
    private const int UpstreamPageSize = 100;

    public bool Enabled => upstream.Enabled;

    public async Task<SearchPage?> SearchAsync(string query, int count, CancellationToken ct)
    {
        var results = new List<SearchEntry>();
        long total = 0;
        for (var page = 1; results.Count < count; page++)
        {
            var path = string.Create(CultureInfo.InvariantCulture, $"/v1/search?q={Uri.EscapeDataString(query)}&n={UpstreamPageSize}&page={page}");
            var answer = await upstream.GetDocumentAsync(UpstreamRole.Index, path, null, ct);
            var parsed = answer.Value is { } document ? Parse(document.Body) : null;
            if (parsed is null)
            {
                logger.LogWarning("Mirror search for {Query}: the upstream index gave no results ({Error}); answering with local results only",
                    query, answer.Failure?.Message ?? (answer.Value is null ? "404" : "invalid JSON"));
                return null;
            }
            total = parsed.NumResults;
            results.AddRange(parsed.Results);
            if (parsed.Results.Count < UpstreamPageSize) break;
        }
        return new SearchPage(total, results.Take(count).ToList());
    }

    private static SearchPage? Parse(byte[] body)
    {
        using var doc = JsonBody.TryParse(body);
        if (doc is not { RootElement.ValueKind: JsonValueKind.Object } || !doc.RootElement.TryGetProperty("results", out var list)
            || list.ValueKind != JsonValueKind.Array)
            return null;
        var results = new List<SearchEntry>();
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String) continue;
            var text = name.GetString()!;
            var logical = text.Contains('/') ? text : $"{RepositoryName.DefaultNamespace}/{text}";
            var description = item.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
            var stars = item.TryGetProperty("star_count", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt32(out var n) ? n : 0;
            results.Add(new SearchEntry(logical, description, stars));
        }
        var numResults = doc.RootElement.TryGetProperty("num_results", out var num) && num.TryGetInt64(out var total) ? total : results.Count;
        return new SearchPage(numResults, results);
    }
}
