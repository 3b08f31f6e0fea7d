using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.V2.Http;
using Registry.V2.Notifications;
using Registry.V2.Proxy;

namespace Registry.V2.Blobs;

/// <summary>
/// <c>GET</c>/<c>HEAD</c>/<c>DELETE /v2/&lt;name&gt;/blobs/&lt;digest&gt;</c> (OCI distribution-spec v1.1, 'Pull', Docker Registry HTTP API V2, 'Deleting a Layer'). A blob is served only
/// when this repository links it; DELETE removes only that link, and only when deletes are enabled.
/// </summary>
public sealed class BlobHandler(BlobStore blobs, RegistrySettings settings, Mirrors mirrors, BlobMirror mirror, V2Events events)
{
    /// <summary>
    /// GET and HEAD: the blob (or the range asked for) when this repository links it; a miss in a mirrored repository
    /// goes to the upstream (docs/configuration.md, 'Mirror'). A GET of a stored blob is a pull event; a HEAD is not
    /// (docs/operating.md, 'Notifications').
    /// </summary>
    public async Task<IResult> GetAsync(HttpContext context, string name, string reference, CancellationToken ct)
    {
        if (!Digest.TryParse(reference, out var digest)) return V2Results.Error(V2ErrorCode.DigestInvalid, reference);
        var blob = await blobs.StatAsync(name, digest, ct);
        if (blob is not null && HttpMethods.IsHead(context.Request.Method) && !await blobs.KeepLookedUpAsync(name, blob, ct)) blob = null;
        var mirrored = mirrors.Resolve(name);
        if (blob is not null)
        {
            if (mirrored is not null) await mirrors.NotePullAsync(mirrored, ct);
            if (HttpMethods.IsGet(context.Request.Method)) events.BlobPulled(context, name, blob.Digest, blob.Size);
            return new BlobResult(blobs, blob);
        }
        return mirrored is not null
            ? new MirroredBlobResult(mirror, blobs, mirrored, digest)
            : V2Results.Error(V2ErrorCode.BlobUnknown, digest.ToString());
    }

    public async Task<IResult> DeleteAsync(HttpContext context, string name, string reference, CancellationToken ct)
    {
        if (!settings.StorageDeleteEnabled) return V2Results.Error(V2ErrorCode.Unsupported);
        if (!Digest.TryParse(reference, out var digest)) return V2Results.Error(V2ErrorCode.DigestInvalid, reference);
        if (!await blobs.UnlinkAsync(name, digest, ct)) return V2Results.Error(V2ErrorCode.BlobUnknown, digest.ToString());
        events.BlobDeleted(context, name, digest);
        context.Response.ContentLength = 0;
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }
}
