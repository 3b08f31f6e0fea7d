using Registry.Core.Http;

namespace Registry.V1.Mirroring;

/// <summary>
/// Sends a layer while it is being fetched (<see cref="LayerFetch"/>): with the upstream's length when it gave one,
/// the IMM headers of a layer, and the last byte only once the whole layer is verified. A fetch that fails midway
/// aborts the connection, so the client sees a broken transfer rather than a short or wrong layer.
/// </summary>
public sealed class MirrorLayerResult(LayerFetch fetch, long? length) : IResult
{
    private const int BufferSize = 256 * 1024;

    public async Task ExecuteAsync(HttpContext context)
    {
        try
        {
            var response = context.Response;
            V1Headers.ApplyImmutable(response);
            response.ContentType = "application/octet-stream";
            response.StatusCode = 200;
            if (length is { } known) response.ContentLength = known;
            if (HttpMethods.IsHead(context.Request.Method)) return;
            await SendAsync(context);
        }
        finally
        {
            fetch.Release();
        }
    }

    private async Task SendAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        // Synchronous reads: the spool was just written, so they are page-cache copies, cheaper than an "async" file read.
        await using var spool = new FileStream(fetch.SpoolPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: false);
        var buffer = new byte[BufferSize];
        long sent = 0;
        while (true)
        {
            var verified = fetch.Verified;
            if (!verified && fetch.Finished.IsCompleted)
            {
                // Finished unverified: the upstream broke off or sent something else.
                context.Abort();
                return;
            }
            var limit = verified ? fetch.Written : fetch.Written - 1;
            if (sent >= limit)
            {
                if (verified) return;
                await fetch.WaitAsync(sent + 1, ct);
                continue;
            }
            var n = spool.Read(buffer.AsSpan(0, (int)Math.Min(buffer.Length, limit - sent)));
            if (n == 0)
            {
                await fetch.WaitAsync(sent + 1, ct);
                continue;
            }
            await context.Response.Body.WriteAsync(buffer.AsMemory(0, n), ct);
            sent += n;
        }
    }
}
