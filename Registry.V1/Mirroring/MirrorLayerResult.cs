using Registry.Core.Http;

namespace Registry.V1.Mirroring;

/// <summary>
/// Sends a layer while it is being fetched (<see cref="SharedDownload"/>): with the upstream's length when it gave one,
/// the IMM headers of a layer, and the last byte only once the whole layer is verified. A fetch that fails midway
/// aborts the connection, so the client sees a broken transfer rather than a short or wrong layer.
/// </summary>
public sealed class MirrorLayerResult(SharedDownload fetch, long? length) : IResult
{
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
            await fetch.SendAsync(context);
        }
        finally
        {
            fetch.Leave();
        }
    }
}
