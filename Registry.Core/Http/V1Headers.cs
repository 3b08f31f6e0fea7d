using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Registry.Core.Http;

/// <summary>The two response header sets of docs/client-behaviour.md, 'V1 response conventions'.</summary>
public static class V1Headers
{
    private const int OneYearSeconds = 31536000;

    /// <summary>NC: no caching; used by every JSON response and every error.</summary>
    public static void ApplyNoCache(HttpResponse response)
    {
        var h = response.Headers;
        h.CacheControl = "no-cache";
        h.Pragma = "no-cache";
        h.Expires = "-1";
    }

    /// <summary>IMM: immutable for a year; image json, ancestry, layer, files and their 304s.</summary>
    public static void ApplyImmutable(HttpResponse response)
    {
        var h = response.Headers;
        h.Remove("Pragma");
        h.CacheControl = $"public, max-age={OneYearSeconds}";
        h.Expires = DateTimeOffset.UtcNow.AddSeconds(OneYearSeconds).ToString("R", CultureInfo.InvariantCulture);
        h.LastModified = "Thu, 01 Jan 1970 00:00:00 GMT";
    }
}
