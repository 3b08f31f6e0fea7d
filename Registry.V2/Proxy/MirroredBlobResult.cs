using Microsoft.AspNetCore.Http;
using Registry.Core.Distribution;
using Registry.Core.Http;
using Registry.V2.Blobs;
using Registry.V2.Http;

namespace Registry.V2.Proxy;

/// <summary>
/// The answer to a blob GET or HEAD that missed in a mirrored repository (docs/configuration.md, 'Mirror'). HEAD asks
/// the upstream's HEAD in a repository that holds fetched content, and is a plain 404 elsewhere (pushes HEAD first). GET streams the shared download as it arrives, with the upstream's <c>Content-Length</c>;
/// when the download fails the connection is aborted, so the client never mistakes a cut body for the blob. A GET
/// with <c>Range</c> is served from the same shared download (OCI distribution-spec v1.1, 'Pull': 206 with
/// <c>Content-Range</c>, or 416), which still fetches, verifies and stores the whole blob once and never asks the
/// upstream for a range; the range's last byte goes out once the blob verified. Only an upstream that sent no
/// <c>Content-Length</c> makes a range wait for the whole blob, which tells the size, and is then served from storage.
/// </summary>
public sealed class MirroredBlobResult(BlobMirror mirror, BlobStore blobs, MirroredName name, Digest digest) : IResult
{
    public async Task ExecuteAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var ct = context.RequestAborted;
        if (await mirror.IsLocalAsync(name.Name, ct))
        {
            await Unknown(response);
            return;
        }
        if (HttpMethods.IsHead(request.Method))
        {
            if (!await mirror.IsCachedAsync(name.Name, ct))
            {
                await Unknown(response);
                return;
            }
            var (size, found, failure) = await mirror.HeadAsync(name, digest, ct);
            if (failure is not null) await UpstreamErrors.WriteAsync(response, failure);
            else if (!found) await Unknown(response);
            else
            {
                WriteBlobHeaders(response);
                response.ContentLength = size;
            }
            return;
        }

        var (cached, linkFailure) = await mirror.LinkCachedAsync(name, digest, ct);
        if (linkFailure is not null)
        {
            await UpstreamErrors.WriteAsync(response, linkFailure);
            return;
        }
        if (cached is not null)
        {
            await new BlobResult(blobs, cached).ExecuteAsync(context);
            return;
        }

        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (mirror.Join(name, digest) is { } fetch)
            {
                try
                {
                    await ServeAsync(context, fetch);
                }
                finally
                {
                    fetch.Leave();
                }
                return;
            }
            // A download just ended: published by now, unless it failed.
            if (await blobs.StatAsync(name.Name, digest, ct) is { } stored)
            {
                await new BlobResult(blobs, stored).ExecuteAsync(context);
                return;
            }
        }
        await UpstreamErrors.WriteAsync(response, new UpstreamFailure($"upstream registry {name.Upstream.Url} did not deliver blob {digest}", true));
    }

    private async Task ServeAsync(HttpContext context, BlobFetch fetch)
    {
        var response = context.Response;
        var ct = context.RequestAborted;
        var failure = await fetch.Started.WaitAsync(ct);
        if (fetch.NotFound)
        {
            await Unknown(response);
            return;
        }
        if (failure is not null)
        {
            await UpstreamErrors.WriteAsync(response, failure);
            return;
        }

        var range = context.Request.Headers.Range.ToString();
        if (range.Length > 0 && fetch.Length is null)
        {
            await fetch.Settled.WaitAsync(ct);
            if (await blobs.StatAsync(name.Name, digest, ct) is { } stored) await new BlobResult(blobs, stored).ExecuteAsync(context);
            else await UpstreamErrors.WriteAsync(response, new UpstreamFailure($"upstream registry {name.Upstream.Url} sent blob {digest} with the wrong bytes or broke off", true));
            return;
        }

        WriteBlobHeaders(response);
        if (fetch.Length is not { } size)
        {
            response.StatusCode = StatusCodes.Status200OK;
            await fetch.SendAsync(context);
            return;
        }
        if (await ByteRange.ApplyAsync(response, range, size) is (var first, var count)) await fetch.SendAsync(context, first, count);
    }

    private void WriteBlobHeaders(HttpResponse response)
    {
        BlobResult.WriteIdentityHeaders(response, digest.ToString());
        response.ContentType = "application/octet-stream";
    }

    private Task Unknown(HttpResponse response) =>
        V2Results.WriteErrorAsync(response, [V2Error.With(V2ErrorCode.BlobUnknown, digest.ToString())]);
}
