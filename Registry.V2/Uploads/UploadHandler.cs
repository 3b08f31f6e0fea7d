using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Registry.Core.Distribution;
using Registry.V2.Access;
using Registry.V2.Blobs;
using Registry.V2.Http;
using Registry.V2.Notifications;
using Registry.V2.Routing;

namespace Registry.V2.Uploads;

/// <summary>
/// Blob uploads (Docker Registry HTTP API V2, 'Pushing An Image'): <c>POST .../blobs/uploads/</c> (session, monolithic <c>?digest=</c>, cross-repository
/// <c>?mount=&amp;from=</c>) and <c>GET</c>/<c>HEAD</c>/<c>PATCH</c>/<c>PUT</c>/<c>DELETE .../blobs/uploads/&lt;uuid&gt;</c>.
/// Every 202 and 204 and every 416 carries the upload headers (Location, bare Range, Docker-Upload-UUID).
/// </summary>
public sealed partial class UploadHandler(UploadSessions sessions, BlobStore blobs, V2Access access, V2Events events)
{
    /// <summary>POST: a session, a monolithic upload, or a mount.</summary>
    public async Task<IResult> StartAsync(HttpContext context, string name, CancellationToken ct)
    {
        var query = context.Request.Query;
        var mount = First(query, "mount");
        var from = First(query, "from");
        // A mount that cannot be done is never an error: the client falls back to uploading (docs/client-behaviour.md, 'V2 edge cases' item 12).
        if (mount is not null && from is not null && DistributionName.IsValid(from) && Digest.TryParse(mount, out var mounted)
            && await access.CanPullAsync(context, from, ct) && await blobs.MountAsync(name, mounted, from, ct) is { } blob)
        {
            events.BlobMounted(context, name, mounted, blob.Size, from);
            return Created(context, name, mounted);
        }

        var algorithm = First(query, "digest-algorithm") ?? "sha256";
        if (!Digest.IsSupportedAlgorithm(algorithm))
            return V2Results.Error(V2ErrorCode.DigestInvalid, "unsupported digest algorithm " + algorithm);

        if (query.ContainsKey("digest"))
        {
            if (First(query, "digest") is not { } text || !Digest.TryParse(text, out var digest))
                return V2Results.Error(V2ErrorCode.DigestInvalid, "digest parsing failed");
            return await MonolithicAsync(context, name, digest, ct);
        }

        var session = await sessions.StartAsync(name, algorithm, ct);
        return Progress(context, StatusCodes.Status202Accepted, session);
    }

    /// <summary><c>POST ?digest=</c> with the whole blob as the body: a session that is filled and closed at once.</summary>
    private async Task<IResult> MonolithicAsync(HttpContext context, string name, Digest digest, CancellationToken ct)
    {
        AllowUnlimitedBody(context);
        var session = await sessions.StartAsync(name, digest.Algorithm, ct);
        await using var held = await sessions.LockAsync(session.Uuid, ct);
        var committed = false;
        try
        {
            var (outcome, filled) = await sessions.AppendAsync(session, context.Request.Body, null, context.Request.ContentLength, ct);
            if (outcome != AppendOutcome.Appended) return V2Results.Error(V2ErrorCode.SizeInvalid);
            committed = true;
            return await sessions.CommitAsync(filled, digest, ct) == CommitOutcome.Committed
                ? Pushed(context, name, digest, filled.Size)
                : V2Results.Error(V2ErrorCode.DigestInvalid, digest.ToString());
        }
        finally
        {
            // Nobody knows this session's id: never leave it behind, whatever happened to the body.
            if (!committed) await sessions.DeleteAsync(session, CancellationToken.None);
        }
    }

    public async Task<IResult> PatchAsync(HttpContext context, string name, string uuid, CancellationToken ct)
    {
        AllowUnlimitedBody(context);
        await using var held = await sessions.LockAsync(uuid, ct);
        if (await sessions.FindAsync(name, uuid, ct) is not { } session) return UploadUnknown();
        var (result, appended) = await AppendBodyAsync(context, session, ct);
        return result ?? Progress(context, StatusCodes.Status202Accepted, appended);
    }

    public async Task<IResult> PutAsync(HttpContext context, string name, string uuid, CancellationToken ct)
    {
        AllowUnlimitedBody(context);
        await using var held = await sessions.LockAsync(uuid, ct);
        if (await sessions.FindAsync(name, uuid, ct) is not { } session) return UploadUnknown();
        var text = First(context.Request.Query, "digest");
        if (text is null) return V2Results.Error(V2ErrorCode.DigestInvalid, "digest missing");
        if (!Digest.TryParse(text, out var digest)) return V2Results.Error(V2ErrorCode.DigestInvalid, "digest parsing failed");

        if (HasBody(context))
        {
            var (result, appended) = await AppendBodyAsync(context, session, ct);
            if (result is not null) return result;
            session = appended;
        }
        return await sessions.CommitAsync(session, digest, ct) == CommitOutcome.Committed
            ? Pushed(context, name, digest, session.Size)
            : V2Results.Error(V2ErrorCode.DigestInvalid, digest.ToString());
    }

    /// <summary>A committed upload: the push event (distribution sends it once the blob is committed), then 201.</summary>
    private IResult Pushed(HttpContext context, string name, Digest digest, long size)
    {
        events.BlobPushed(context, name, digest, size);
        return Created(context, name, digest);
    }

    /// <summary>GET and HEAD: the upload's progress.</summary>
    public async Task<IResult> StatusAsync(HttpContext context, string name, string uuid, CancellationToken ct) =>
        await sessions.FindAsync(name, uuid, ct) is { } session
            ? Progress(context, StatusCodes.Status204NoContent, session)
            : UploadUnknown();

    public async Task<IResult> CancelAsync(HttpContext context, string name, string uuid, CancellationToken ct)
    {
        await using var held = await sessions.LockAsync(uuid, ct);
        if (await sessions.FindAsync(name, uuid, ct) is not { } session) return UploadUnknown();
        await sessions.DeleteAsync(session, ct);
        context.Response.Headers[V2Results.UploadUuidHeader] = uuid;
        context.Response.ContentLength = 0;
        return Results.StatusCode(StatusCodes.Status204NoContent);
    }

    /// <summary>
    /// Appends the request body (PATCH, or the final chunk of PUT) under the rules of Docker Registry HTTP API V2, 'Chunked Upload'.
    /// Returns the error to answer, or null and the grown session.
    /// </summary>
    private async Task<(IResult? Error, UploadSession Session)> AppendBodyAsync(HttpContext context, UploadSession session, CancellationToken ct)
    {
        ChunkRange? range = null;
        if (context.Request.Headers.ContentRange is { Count: > 0 } header)
        {
            range = ParseContentRange(header.ToString());
            if (range is null) return (RangeInvalid(context, session), session);
        }
        var (outcome, appended) = await sessions.AppendAsync(session, context.Request.Body, range, context.Request.ContentLength, ct);
        return outcome switch
        {
            AppendOutcome.RangeInvalid => (RangeInvalid(context, session), session),
            AppendOutcome.SizeInvalid => (V2Results.Error(V2ErrorCode.SizeInvalid), session),
            _ => (null, appended),
        };
    }

    /// <summary>The bare inclusive form <c>start-end</c> (Docker Registry HTTP API V2, 'Chunked Upload'); anything else, or start &gt; end, is null.</summary>
    private static ChunkRange? ParseContentRange(string value)
    {
        var match = ContentRangePattern().Match(value.Trim());
        if (!match.Success) return null;
        if (!long.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || !long.TryParse(match.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var end)
            || start > end)
            return null;
        return new ChunkRange(start, end);
    }

    private static IResult RangeInvalid(HttpContext context, UploadSession session)
    {
        SetUploadHeaders(context, session);
        context.Response.Headers.Remove(HeaderNames.ContentLength);
        return V2Results.Error(V2ErrorCode.RangeInvalid);
    }

    /// <summary>The upload headers of Docker Registry HTTP API V2, 'Starting An Upload' with an empty body.</summary>
    private static IResult Progress(HttpContext context, int status, UploadSession session)
    {
        SetUploadHeaders(context, session);
        context.Response.ContentLength = 0;
        return Results.StatusCode(status);
    }

    private static void SetUploadHeaders(HttpContext context, UploadSession session)
    {
        var headers = context.Response.Headers;
        headers.Location = $"{V2Route.Prefix}/{session.Name}/blobs/uploads/{session.Uuid}";
        // Bare, without "bytes=": docker parses "%d-%d" and derives the layer size from it.
        headers[HeaderNames.Range] = session.Size == 0 ? "0-0" : string.Create(CultureInfo.InvariantCulture, $"0-{session.Size - 1}");
        headers[V2Results.UploadUuidHeader] = session.Uuid;
    }

    private static IResult Created(HttpContext context, string name, Digest digest)
    {
        context.Response.Headers.Location = $"{V2Route.Prefix}/{name}/blobs/{digest}";
        context.Response.Headers[V2Results.ContentDigestHeader] = digest.ToString();
        context.Response.ContentLength = 0;
        return Results.StatusCode(StatusCodes.Status201Created);
    }

    private static IResult UploadUnknown() => V2Results.Error(V2ErrorCode.BlobUploadUnknown);

    /// <summary>Blob bodies have no size limit (Docker Registry HTTP API V2, 'Chunked Upload'); they are streamed to storage, never buffered.</summary>
    private static void AllowUnlimitedBody(HttpContext context)
    {
        var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (limit is { IsReadOnly: false }) limit.MaxRequestBodySize = null;
    }

    /// <summary>True unless the request declares an empty body (<c>Content-Length: 0</c>, or no framing at all).</summary>
    private static bool HasBody(HttpContext context) =>
        context.Request.Headers.ContentRange.Count > 0
        || (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? context.Request.ContentLength > 0)
        && context.Request.ContentLength != 0;

    /// <summary>The first value of a query parameter (Docker Registry HTTP API V2, 'Completed Upload': multiple <c>digest</c>s use the first); null when absent or empty.</summary>
    private static string? First(IQueryCollection query, string key) =>
        query.TryGetValue(key, out var values) && values.Count > 0 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    [GeneratedRegex(@"\A([0-9]{1,18})-([0-9]{1,18})\z", RegexOptions.CultureInvariant)]
    private static partial Regex ContentRangePattern();
}
