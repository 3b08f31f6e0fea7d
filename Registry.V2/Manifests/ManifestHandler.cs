using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.Core.IO;
using Registry.V2.Http;
using Registry.V2.Notifications;
using Registry.V2.Proxy;

namespace Registry.V2.Manifests;

/// <summary>
/// <c>/v2/&lt;name&gt;/manifests/&lt;reference&gt;</c> (OCI distribution-spec v1.1, 'Pull' and 'Push'): GET and HEAD with content negotiation,
/// PUT in the processing order of Docker Registry HTTP API V2, 'Pushing an Image Manifest', DELETE of a revision or a tag (Docker Registry HTTP API V2, 'Deleting an Image'). The work is done by
/// <see cref="ManifestStore"/>; this class reads the request and maps outcomes to status codes and envelopes.
/// </summary>
public sealed class ManifestHandler(
    ManifestStore store, RegistrySettings settings, Mirrors mirrors, ManifestMirror mirror, V2Events events, Registry.Index.Webhooks.WebhookPublisher webhooks)
{
    /// <summary>The header that echoes the tags of a <c>?tag=</c> PUT (OCI 1.1).</summary>
    public const string OciTagHeader = "OCI-Tag";

    /// <summary>The header that names the subject of a pushed referrer (OCI 1.1, Docker Registry HTTP API V2, 'Pushing an Image Manifest').</summary>
    public const string OciSubjectHeader = "OCI-Subject";

    /// <summary>GET and HEAD; a mirrored name (docs/configuration.md, 'Mirror') is answered by <see cref="ManifestMirror"/>.</summary>
    public async Task<IResult> GetAsync(HttpContext context, string name, string reference, CancellationToken ct)
    {
        Digest? digest = null;
        if (reference.Contains(':'))
        {
            if (!Digest.TryParse(reference, out var parsed)) return V2Results.Error(V2ErrorCode.DigestInvalid, reference);
            digest = parsed;
        }
        else
        {
            // An invalid tag cannot name anything: unknown, not malformed (docs/client-behaviour.md, 'V2 edge cases' item 15).
            if (!DistributionName.IsValidTag(reference)) return V2Results.Error(V2ErrorCode.ManifestUnknown, $"unknown tag={reference}");
        }

        StoredManifest? manifest;
        if (mirrors.Resolve(name) is { } mirrored)
        {
            var found = await mirror.GetAsync(mirrored, reference, digest, AcceptValues(context.Request.Headers.Accept), ct);
            if (found.Failure is { } failure) return UpstreamErrors.Result(failure);
            manifest = found.Manifest;
            if (manifest is not null) await mirrors.NotePullAsync(mirrored, ct);
        }
        else
        {
            manifest = digest is not null ? await store.GetByDigestAsync(name, digest, ct) : await store.GetByTagAsync(name, reference, ct);
            if (manifest is not null && digest is not null && HttpMethods.IsHead(context.Request.Method) && !await store.KeepLookedUpAsync(name, digest, ct))
                manifest = null;
        }
        if (manifest is null)
            return V2Results.Error(V2ErrorCode.ManifestUnknown, digest is not null ? $"unknown manifest={digest}" : $"unknown tag={reference}");
        if (NotAcceptable(manifest.MediaType, context.Request.Headers.Accept) is { } message)
            return V2Results.Error(V2ErrorCode.ManifestUnknown, message);
        // A GET is a pull event (a 304 too, as in distribution); a HEAD is not (docs/operating.md, 'Notifications').
        if (HttpMethods.IsGet(context.Request.Method)) events.ManifestPulled(context, name, manifest, digest is null ? reference : null);
        return new ManifestResult(manifest, NoneMatch(context.Request.Headers.IfNoneMatch, manifest.Digest));
    }

    /// <summary>Every value of every <c>Accept</c> line (docker sends six lines), as sent; passed through to an upstream.</summary>
    private static List<string> AcceptValues(StringValues lines) =>
        [.. lines.SelectMany(line => (line ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.OrdinalIgnoreCase)];

    /// <summary>
    /// Null when the stored type may be served for the request's <c>Accept</c> lines (merged, comma-split,
    /// parameters dropped); otherwise distribution v3's message. Only OCI types are refused: Docker types are
    /// served as they are (no schema 1 down-conversion, no platform pick from a list), and no Accept or
    /// <c>*/*</c> serves anything (a deviation: curl users expect the manifest).
    /// </summary>
    public static string? NotAcceptable(string mediaType, StringValues acceptLines)
    {
        // Scanned in place, not split into a set: docker sends six lines on every pull.
        var anyType = false;
        foreach (var line in acceptLines)
        {
            var rest = (line ?? "").AsSpan();
            while (true)
            {
                var comma = rest.IndexOf(',');
                var item = comma < 0 ? rest : rest[..comma];
                var semicolon = item.IndexOf(';');
                var type = (semicolon < 0 ? item : item[..semicolon]).Trim();
                if (type.Length > 0)
                {
                    if (type.SequenceEqual("*/*") || type.Equals(mediaType, StringComparison.OrdinalIgnoreCase)) return null;
                    anyType = true;
                }
                if (comma < 0) break;
                rest = rest[(comma + 1)..];
            }
        }
        if (!anyType) return null;
        return mediaType switch
        {
            ManifestDocument.OciManifest => "OCI manifest found, but accept header does not support OCI manifests",
            ManifestDocument.OciIndex => "OCI index found, but accept header does not support OCI indexes",
            _ => null,
        };
    }

    /// <summary><c>If-None-Match</c> names the digest, quoted or not (weak tags too).</summary>
    private static bool NoneMatch(StringValues lines, Digest digest)
    {
        var wanted = digest.ToString();
        foreach (var line in lines)
            foreach (var item in (line ?? "").Split(','))
            {
                var tag = item.Trim();
                if (tag.StartsWith("W/", StringComparison.Ordinal)) tag = tag[2..];
                if (tag.Trim('"') == wanted || tag == "*") return true;
            }
        return false;
    }

    public async Task<IResult> PutAsync(HttpContext context, string name, string reference, CancellationToken ct)
    {
        var body = await ReadCappedAsync(context.Request, ct);
        if (body is null)
        {
            // Chosen over distribution's 400: OCI recommends 413, and MANIFEST_INVALID keeps docker's message meaningful.
            return V2Results.Error(
                new V2ErrorCode(V2ErrorCode.ManifestInvalid.Code, StatusCodes.Status413PayloadTooLarge, V2ErrorCode.ManifestInvalid.Message),
                $"manifest is larger than the {ManifestStore.MaxManifestBytes}-byte limit");
        }

        var extraTags = context.Request.Query["tag"].Where(t => t is not null).Select(t => t!).ToList();
        var result = await store.PutAsync(name, reference, context.Request.ContentType, body, extraTags, ct);
        if (!result.Succeeded) return V2Results.Errors(result.Problems.Select(ToError).ToList());
        // A push makes a mirrored name local for good: the upstream never overwrites it (README, 'Mirror (pull-through cache)').
        if (mirrors.Resolve(name) is not null) await mirrors.MarkLocalAsync(name, ct);

        var digest = result.Digest!.ToString();
        // One event per tag the PUT set (OCI 1.1 ?tag= may set several), or one without a tag for a by-digest PUT.
        if (result.Tags.Count == 0) events.ManifestPushed(context, name, result.Digest, result.MediaType, body.Length, null);
        foreach (var tag in result.Tags) events.ManifestPushed(context, name, result.Digest, result.MediaType, body.Length, tag);
        foreach (var tag in result.Tags) await webhooks.PushedAsync(context, name, tag, V2Events.ActorOf(context), ct);
        var headers = context.Response.Headers;
        headers.Location = $"/v2/{name}/manifests/{digest}";
        headers[V2Results.ContentDigestHeader] = digest;
        if (reference.Contains(':') && result.Tags.Count > 0) headers[OciTagHeader] = string.Join(", ", result.Tags);
        if (result.Subject is { } subject) headers[OciSubjectHeader] = subject.ToString();
        context.Response.ContentLength = 0;
        return Results.StatusCode(StatusCodes.Status201Created);
    }

    private static V2Error ToError(ManifestProblem problem) => V2Error.With(problem.Kind switch
    {
        ManifestProblemKind.Schema1 or ManifestProblemKind.Invalid => V2ErrorCode.ManifestInvalid,
        ManifestProblemKind.TagInvalid => V2ErrorCode.TagInvalid,
        ManifestProblemKind.DigestInvalid => V2ErrorCode.DigestInvalid,
        _ => V2ErrorCode.ManifestBlobUnknown,
    }, problem.Detail);

    /// <summary>The whole body, or null when it is over <see cref="ManifestStore.MaxManifestBytes"/> (announced or actual).</summary>
    private static async Task<byte[]?> ReadCappedAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > ManifestStore.MaxManifestBytes) return null;
        return await CappedRead.ReadAsync(request.Body, ManifestStore.MaxManifestBytes, ct);
    }

    public async Task<IResult> DeleteAsync(HttpContext context, string name, string reference, CancellationToken ct)
    {
        if (!settings.StorageDeleteEnabled) return V2Results.Error(V2ErrorCode.Unsupported);
        bool deleted;
        string detail;
        if (reference.Contains(':'))
        {
            if (!Digest.TryParse(reference, out var digest)) return V2Results.Error(V2ErrorCode.DigestInvalid, reference);
            var removedTags = await store.DeleteManifestAsync(name, digest, ct);
            deleted = removedTags is not null;
            if (deleted) events.ManifestDeleted(context, name, digest, removedTags!);
            detail = $"unknown manifest={digest}";
        }
        else
        {
            deleted = DistributionName.IsValidTag(reference) && await store.DeleteTagAsync(name, reference, ct);
            if (deleted) events.TagDeleted(context, name, reference);
            detail = $"unknown tag={reference}";
        }
        return deleted ? new AcceptedResult() : V2Results.Error(V2ErrorCode.ManifestUnknown, detail);
    }

    /// <summary>202 with an explicit <c>Content-Length: 0</c>.</summary>
    private sealed class AcceptedResult : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status202Accepted;
            httpContext.Response.ContentLength = 0;
            return Task.CompletedTask;
        }
    }

    /// <summary>
    /// 200 with the exact bytes (none on HEAD, but the real Content-Length), or 304 on an If-None-Match hit;
    /// both carry Docker-Content-Digest and ETag.
    /// </summary>
    private sealed class ManifestResult(StoredManifest manifest, bool notModified) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            var digest = manifest.Digest.ToString();
            response.Headers[V2Results.ContentDigestHeader] = digest;
            response.Headers.ETag = $"\"{digest}\"";
            if (notModified)
            {
                response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = manifest.MediaType;
            response.ContentLength = manifest.Content.Length;
            if (!HttpMethods.IsHead(httpContext.Request.Method)) await response.Body.WriteAsync(manifest.Content, httpContext.RequestAborted);
        }
    }
}
