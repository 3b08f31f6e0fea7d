using System.Globalization;
using Microsoft.AspNetCore.Http;
using Registry.Core.Http;
using Microsoft.Net.Http.Headers;
using Registry.V2.Http;

namespace Registry.V2.Blobs;

/// <summary>
/// Streams a blob with the headers of OCI distribution-spec v1.1, 'Pull': the requested digest, an immutable cache policy, the real
/// <c>Content-Length</c> (also on HEAD), <c>If-None-Match</c> (304) and one byte range on GET (206/416).
/// A file-driver blob is read straight into the response's buffers (<see cref="ObjectBody"/>); other drivers stream with a fixed buffer.
/// </summary>
public sealed class BlobResult(BlobStore blobs, BlobInfo blob) : IResult
{
    public async Task ExecuteAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var digest = blob.Digest.ToString();
        WriteIdentityHeaders(response, digest);

        if (MatchesIfNoneMatch(request.Headers.IfNoneMatch.ToArray(), digest))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentType = "application/octet-stream";
        var isGet = HttpMethods.IsGet(request.Method);
        if (await ByteRange.ApplyAsync(response, isGet ? request.Headers.Range.ToString() : null, blob.Size) is not (var first, var length)) return;
        if (!isGet || length == 0) return;

        if (await ObjectBody.SendAsync(context, blobs.PhysicalPath(blob), (offset, ct) => blobs.OpenReadAsync(blob, offset, ct), first, length))
        {
            // A pull that got the whole blob (not a client that went away, nor a range) may have it cached.
            if (length == blob.Size && !context.RequestAborted.IsCancellationRequested) blobs.PulledWhole(blob);
        }
        else if (!response.HasStarted)
        {
            response.Headers.Remove(HeaderNames.ContentRange);
            response.ContentLength = null;
            await V2Results.WriteErrorAsync(response, [V2Error.With(V2ErrorCode.BlobUnknown, digest)]);
        }
    }

    /// <summary>
    /// The headers of every answer about a blob, whether stored or being fetched by a mirror: its digest (also as the
    /// entity tag), an immutable cache policy and byte ranges accepted.
    /// </summary>
    public static void WriteIdentityHeaders(HttpResponse response, string digest)
    {
        response.Headers[V2Results.ContentDigestHeader] = digest;
        response.Headers.ETag = $"\"{digest}\"";
        response.Headers.CacheControl = "max-age=31536000";
        response.Headers.AcceptRanges = "bytes";
    }

    /// <summary>True when an entity tag of the header names the digest (quoted or not, weak or strong) or is <c>*</c>.</summary>
    private static bool MatchesIfNoneMatch(string?[] values, string digest)
    {
        foreach (var value in values)
        {
            if (value is null) continue;
            foreach (var raw in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var tag = raw.StartsWith("W/", StringComparison.Ordinal) ? raw[2..] : raw;
                if (tag == "*" || tag.Trim('"') == digest) return true;
            }
        }
        return false;
    }
}

/// <summary>
/// The blob Range rules of OCI distribution-spec v1.1, 'Pull': one <c>bytes=a-b</c>, <c>bytes=a-</c> or <c>bytes=-n</c> range is served
/// (206), a range starting at or past the end is unsatisfiable (416), anything else is ignored (full 200).
/// </summary>
public static class ByteRange
{
    public enum Outcome { Full, Partial, Unsatisfiable }

    /// <summary>
    /// Answers <paramref name="header"/>'s range of a blob of <paramref name="size"/> bytes on <paramref name="response"/>:
    /// 416 <c>RANGE_INVALID</c> with <c>Content-Range: bytes */size</c> (and null: answered, nothing to send), else 206
    /// with its <c>Content-Range</c> or 200, with the length of the bytes to send and where they start.
    /// </summary>
    public static async Task<(long First, long Count)?> ApplyAsync(HttpResponse response, string? header, long size)
    {
        var (outcome, first, last) = Evaluate(header, size);
        if (outcome == Outcome.Unsatisfiable)
        {
            response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes */{size}");
            await V2Results.WriteErrorAsync(response, [new V2Error(V2ErrorCode.RangeInvalid)]);
            return null;
        }
        var count = last - first + 1;
        response.StatusCode = outcome == Outcome.Partial ? StatusCodes.Status206PartialContent : StatusCodes.Status200OK;
        if (outcome == Outcome.Partial)
            response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {first}-{last}/{size}");
        response.ContentLength = count;
        return (first, count);
    }

    public static (Outcome Outcome, long First, long Last) Evaluate(string? header, long size)
    {
        var full = (Outcome.Full, 0L, size - 1);
        if (string.IsNullOrEmpty(header) || !header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase)) return full;
        var spec = header["bytes=".Length..].Trim();
        if (spec.Contains(',')) return full;
        var dash = spec.IndexOf('-');
        if (dash < 0) return full;
        var (firstText, lastText) = (spec[..dash].Trim(), spec[(dash + 1)..].Trim());
        if (firstText.Length == 0)
        {
            // Suffix range: the last n bytes.
            if (!TryParse(lastText, out var suffix)) return full;
            if (suffix == 0 || size == 0) return (Outcome.Unsatisfiable, 0, 0);
            return (Outcome.Partial, size - Math.Min(suffix, size), size - 1);
        }
        if (!TryParse(firstText, out var first)) return full;
        var last = size - 1;
        if (lastText.Length > 0)
        {
            if (!TryParse(lastText, out last) || last < first) return full;
            last = Math.Min(last, size - 1);
        }
        return first >= size ? (Outcome.Unsatisfiable, 0, 0) : (Outcome.Partial, first, last);
    }

    private static bool TryParse(string s, out long value)
    {
        value = 0;
        if (s.Length is 0 or > 18) return false;
        foreach (var c in s)
            if (c is < '0' or > '9') return false;
        return long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
