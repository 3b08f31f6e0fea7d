using Registry.Core.Http;
using Registry.V1.Images;

namespace Registry.V1.Mirroring;

/// <summary>
/// Sends a layer while it is being fetched (<see cref="SharedDownload"/>): with the upstream's length when it gave one,
/// the IMM headers of a layer, and the last byte only once the whole layer is verified. A fetch that fails midway
/// aborts the connection, so the client sees a broken transfer rather than a short or wrong layer.
/// <para>
/// A <c>Range</c> is served from the same fetch, which still reads, verifies and stores the whole layer once: the
/// client gets exactly its range (206, or 416) as the bytes arrive, the range's last byte once the layer verified.
/// That is what docker 1.x needs to resume a cut layer (<c>Range: bytes=N-SIZE</c> after an <c>Accept-Ranges:
/// bytes</c> answer, else "the server doesn't support byte ranges"). Without an upstream length the range waits for
/// the end of the fetch, which tells the length.
/// </para>
/// </summary>
public sealed class MirrorLayerResult(SharedDownload fetch, long? length) : IResult
{
    public async Task ExecuteAsync(HttpContext context)
    {
        try
        {
            var response = context.Response;
            var range = context.Request.Headers.Range.ToString();
            var size = length;
            if (size is null && range.Length > 0)
            {
                size = await WholeLengthAsync(context.RequestAborted);
                // The fetch failed before its end: no length to answer the range with.
                if (size is null)
                {
                    await V1Results.UpstreamError(MirrorLayerService.FetchFailed).ExecuteAsync(context);
                    return;
                }
            }
            V1Headers.ApplyImmutable(response);
            response.ContentType = "application/octet-stream";
            if (size is { } known) response.Headers.AcceptRanges = "bytes";
            else
            {
                response.StatusCode = 200;
                if (!HttpMethods.IsHead(context.Request.Method)) await fetch.SendAsync(context);
                return;
            }

            if (RangeHeader.Apply(response, range, known) is not (var first, var count)) return;
            if (HttpMethods.IsHead(context.Request.Method)) return;
            await fetch.SendAsync(context, first, count);
        }
        finally
        {
            fetch.Leave();
        }
    }

    /// <summary>The layer's length once the fetch ended verified; null when it failed.</summary>
    private async Task<long?> WholeLengthAsync(CancellationToken ct)
    {
        await fetch.Settled.WaitAsync(ct);
        return fetch.Complete ? fetch.Written : null;
    }
}
