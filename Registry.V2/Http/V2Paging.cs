using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Registry.V2.Http;

/// <summary>
/// The <c>n</c>/<c>last</c> pagination shared by tags/list and the catalog (OCI distribution-spec v1.1, 'Listing Tags', Docker Registry HTTP API V2, 'Listing Repositories'): the page size,
/// the error for a bad one, and the <c>Link</c> to the next page.
/// </summary>
public static class V2Paging
{
    /// <summary>The <c>n</c> of the query; <paramref name="fallback"/> when absent or empty; null (with the error) when not a non-negative integer or above <paramref name="max"/>.</summary>
    public static int? ParseCount(IQueryCollection query, int? fallback, int max, out IResult? error)
    {
        error = null;
        var text = query["n"].ToString();
        if (text.Length == 0) return fallback;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= max) return n;
        error = V2Results.Error(V2ErrorCode.PaginationNumberInvalid, new Dictionary<string, string> { ["n"] = text });
        return null;
    }

    /// <summary>The <c>Link</c> value distribution sends: a relative URL with <c>last</c> then <c>n</c>, rel="next".</summary>
    public static string NextLink(string path, string last, int n) =>
        $"<{path}?last={Uri.EscapeDataString(last)}&n={n.ToString(CultureInfo.InvariantCulture)}>; rel=\"next\"";
}
