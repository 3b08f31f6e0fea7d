using Registry.Core.Http;

namespace Registry.V1.Mirroring;

/// <summary>
/// Sends a layer while it is being fetched (<see cref="SharedDownload"/>): with the upstream's length when it gave one,
/// the IMM headers of a layer, and the last byte only once the whole layer is verified. A fetch that fails midway
/// aborts the connection, so the client sees a broken transfer rather than a short or wrong layer.
/// </summary>
public sealed class MirrorLayerResult(SharedDownload fetch, long? length) : IResult
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
            fetch.Leave();
        }
    }

    private async Task SendAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var buffer = new byte[BufferSize];
        long sent = 0;
        try
        {
            int n;
            while ((n = await fetch.ReadAsync(sent, buffer, ct)) > 0)
            {
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, n), ct);
                sent += n;
            }
        }
        catch (IOException) when (!ct.IsCancellationRequested)
        {
            // The upstream broke off or sent something else: a broken transfer, never a short body that ends cleanly.
            context.Abort();
        }
    }
}
