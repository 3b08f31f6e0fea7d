using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.V2.Http;
using Registry.V2.Routing;

namespace Registry.V2.Blobs;

/// <summary>
/// <c>GET</c>/<c>HEAD</c>/<c>DELETE /v2/&lt;name&gt;/blobs/&lt;digest&gt;</c> (v2 spec §1.4, §1.5). A blob is served only
/// when this repository links it; DELETE removes only that link, and only when deletes are enabled.
/// </summary>
public sealed class BlobHandler(BlobStore blobs, RegistrySettings settings) : IV2RouteHandler
{
    public IReadOnlyDictionary<V2RouteKind, string[]> Methods { get; } = new Dictionary<V2RouteKind, string[]>
    {
        [V2RouteKind.Blob] = ["GET", "HEAD", "DELETE"],
    };

    public async Task<IResult> HandleAsync(HttpContext context, V2Route route, CancellationToken ct)
    {
        var delete = HttpMethods.IsDelete(context.Request.Method);
        if (delete && !settings.StorageDeleteEnabled) return V2Results.Error(V2ErrorCode.Unsupported);
        if (!Digest.TryParse(route.Reference, out var digest)) return V2Results.Error(V2ErrorCode.DigestInvalid, route.Reference);

        if (delete)
        {
            if (!await blobs.UnlinkAsync(route.Name, digest, ct)) return V2Results.Error(V2ErrorCode.BlobUnknown, digest.ToString());
            context.Response.ContentLength = 0;
            return Results.StatusCode(StatusCodes.Status202Accepted);
        }

        var blob = await blobs.StatAsync(route.Name, digest, ct);
        return blob is null ? V2Results.Error(V2ErrorCode.BlobUnknown, digest.ToString()) : new BlobResult(blobs, blob);
    }
}
