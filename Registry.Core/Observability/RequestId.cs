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
        var id = offered.Count == 1 && IsSane(offered[0]) ? offered[0]! : NewId();
        context.TraceIdentifier = id;
        return id;
    }

    /// <summary>
    /// 32 lowercase hex digits, as a GUID's "N" form: a random prefix drawn once per process and a counter, unique within
    /// the process and, by the prefix, across processes. A GUID per request cost a <c>getrandom</c> system call each.
    /// </summary>
    public static string NewId()
    {
        var count = (ulong)Interlocked.Increment(ref _counter);
        return string.Create(32, count, static (chars, c) =>
        {
            Prefix.AsSpan().CopyTo(chars);
            c.TryFormat(chars[16..], out _, "x16", System.Globalization.CultureInfo.InvariantCulture);
        });
    }

    private static readonly string Prefix = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
    private static long _counter;

    /// <summary>1 to <see cref="MaxLength"/> printable ASCII characters, no spaces: safe in a header, a log line and JSON.</summary>
    public static bool IsSane(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= MaxLength && value.All(c => c is > ' ' and < '\x7f');
}
