using System.Globalization;

namespace Registry.V1.Images;

/// <summary>
/// The layer Range rules of Docker Registry HTTP API V1, 'Images': only <c>bytes=FIRST-LAST</c> and <c>bytes=FIRST-</c> are honoured,
/// anything else is ignored (full 200); LAST is clamped to size-1; FIRST past the end is unsatisfiable.
/// </summary>
public static class RangeHeader
{
    public enum Outcome { Full, Partial, Unsatisfiable }

    public static (Outcome Outcome, long First, long Last) Evaluate(string? header, long size)
    {
        if (string.IsNullOrEmpty(header) || !header.StartsWith("bytes=", StringComparison.Ordinal)) return (Outcome.Full, 0, size - 1);
        var spec = header["bytes=".Length..].Trim();
        if (spec.Contains(',')) return (Outcome.Full, 0, size - 1);
        var dash = spec.IndexOf('-');
        if (dash <= 0) return (Outcome.Full, 0, size - 1);
        if (!TryParseNonNegative(spec[..dash], out var first)) return (Outcome.Full, 0, size - 1);
        long last;
        var lastText = spec[(dash + 1)..];
        if (lastText.Length == 0) last = size - 1;
        else if (!TryParseNonNegative(lastText, out last)) return (Outcome.Full, 0, size - 1);
        last = Math.Min(last, size - 1);
        if (first >= size || last < first) return (Outcome.Unsatisfiable, 0, 0);
        return (Outcome.Partial, first, last);
    }

    /// <summary>
    /// Answers the request's range of a layer of <paramref name="size"/> bytes on <paramref name="response"/>: 416 with
    /// <c>Content-Range: bytes */size</c> (and null: nothing to send), else 206 with its <c>Content-Range</c> or 200,
    /// with the length of the bytes to send and where they start.
    /// </summary>
    public static (long First, long Count)? Apply(HttpResponse response, string? header, long size)
    {
        var (outcome, first, last) = size == 0 ? (Outcome.Full, 0L, -1L) : Evaluate(header, size);
        if (outcome == Outcome.Unsatisfiable)
        {
            response.StatusCode = 416;
            response.ContentLength = 0;
            response.Headers.ContentRange = $"bytes */{size}";
            return null;
        }
        var count = last - first + 1;
        response.StatusCode = outcome == Outcome.Partial ? 206 : 200;
        if (outcome == Outcome.Partial)
            response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {first}-{last}/{size}");
        response.ContentLength = count;
        return (first, count);
    }

    private static bool TryParseNonNegative(string s, out long value)
    {
        value = 0;
        if (s.Length is 0 or > 19) return false;
        foreach (var c in s)
            if (c is < '0' or > '9') return false;
        return long.TryParse(s, out value);
    }
}
