using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Registry.V2.Http;

namespace Registry.V2.Blobs;

/// <summary>
/// Streams a blob with the headers of v2 spec §1.4: the requested digest, an immutable cache policy, the real
/// <c>Content-Length</c> (also on HEAD), <c>If-None-Match</c> (304) and one byte range on GET (206/416).
/// A file-driver blob goes out through sendfile; other drivers stream with a fixed buffer.
/// </summary>
public sealed class BlobResult(BlobStore blobs, BlobInfo blob) : IResult
{
    private const int CopyBufferSize = 256 * 1024;

    public async Task ExecuteAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var digest = blob.Digest.ToString();
        response.Headers[V2Results.ContentDigestHeader] = digest;
        response.Headers.ETag = $"\"{digest}\"";
        response.Headers.CacheControl = "max-age=31536000";
        response.Headers.AcceptRanges = "bytes";

        if (MatchesIfNoneMatch(request.Headers.IfNoneMatch.ToArray(), digest))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentType = "application/octet-stream";
        var isGet = HttpMethods.IsGet(request.Method);
        var (outcome, first, last) = isGet ? ByteRange.Evaluate(request.Headers.Range.ToString(), blob.Size) : (ByteRange.Outcome.Full, 0L, blob.Size - 1);
        if (outcome == ByteRange.Outcome.Unsatisfiable)
        {
            response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes */{blob.Size}");
            await V2Results.WriteErrorAsync(response, [new V2Error(V2ErrorCode.RangeInvalid)]);
            return;
        }

        var length = last - first + 1;
        response.StatusCode = outcome == ByteRange.Outcome.Partial ? StatusCodes.Status206PartialContent : StatusCodes.Status200OK;
        if (outcome == ByteRange.Outcome.Partial)
            response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {first}-{last}/{blob.Size}");
        response.ContentLength = length;
        if (!isGet || length == 0) return;

        var ct = context.RequestAborted;
        if (blobs.PhysicalPath(blob) is { } file && context.Features.Get<IHttpResponseBodyFeature>() is { } body)
        {
            try
            {
                await body.SendFileAsync(file, first, length, ct);
                return;
            }
            catch (FileNotFoundException)
            {
                // Deleted (garbage collected) since the lookup, before anything was sent: answer unknown below.
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }

        await using var stream = await blobs.OpenReadAsync(blob, first, ct);
        if (stream is null)
        {
            if (!response.HasStarted)
            {
                response.Headers.Remove(HeaderNames.ContentRange);
                response.ContentLength = null;
                await V2Results.WriteErrorAsync(response, [V2Error.With(V2ErrorCode.BlobUnknown, digest)]);
            }
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            var remaining = length;
            while (remaining > 0)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), ct);
                if (read == 0) break;
                await response.Body.WriteAsync(buffer.AsMemory(0, read), ct);
                remaining -= read;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away; nothing to clean up.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
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
/// The blob Range rules of v2 spec §1.4: one <c>bytes=a-b</c>, <c>bytes=a-</c> or <c>bytes=-n</c> range is served
/// (206), a range starting at or past the end is unsatisfiable (416), anything else is ignored (full 200).
/// </summary>
public static class ByteRange
{
    public enum Outcome { Full, Partial, Unsatisfiable }

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
