using Microsoft.AspNetCore.Http;

namespace Registry.Core.Observability;

/// <summary>
/// The id that ties a request's log lines, its audit line and the client's view together: the client's
/// <c>X-Request-Id</c> when it is sane (a proxy in front may have logged it already), otherwise a new one. Stored as
/// <see cref="HttpContext.TraceIdentifier"/>, which ASP.NET Core's own log scopes use too.
/// </summary>
public static class RequestId
{
    public const string Header = "X-Request-Id";

    /// <summary>Longest accepted client id; longer ones are replaced, never cut.</summary>
    public const int MaxLength = 128;

    /// <summary>The id of <paramref name="context"/>: the client's when <see cref="IsSane"/>, otherwise a fresh GUID.</summary>
    public static string Assign(HttpContext context)
    {
        var offered = context.Request.Headers[Header];
        var id = offered.Count == 1 && IsSane(offered[0]) ? offered[0]! : Guid.NewGuid().ToString("N");
        context.TraceIdentifier = id;
        return id;
    }

    /// <summary>1 to <see cref="MaxLength"/> printable ASCII characters, no spaces: safe in a header, a log line and JSON.</summary>
    public static bool IsSane(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= MaxLength && value.All(c => c is > ' ' and < '\x7f');
}
