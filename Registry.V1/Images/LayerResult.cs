using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Registry.Core.Http;
using Registry.Core.Names;

namespace Registry.V1.Images;

/// <summary>
/// Streams a layer with the IMM headers, honouring Range (206/416, spec §3.5.1). A file-driver layer goes
/// out through sendfile; other drivers stream with a fixed buffer. Nothing is held whole in memory.
/// </summary>
public sealed class LayerResult(ImageService images, ImageId id, LayerInfo layer, string? accelRedirect) : IResult
{
    private const int CopyBufferSize = 256 * 1024;

    public async Task ExecuteAsync(HttpContext context)
    {
        var response = context.Response;
        V1Headers.ApplyImmutable(response);
        response.ContentType = "application/octet-stream";
        response.Headers.AcceptRanges = "bytes";

        if (accelRedirect is not null)
        {
            response.StatusCode = 200;
            response.Headers["X-Accel-Redirect"] = accelRedirect;
            return;
        }

        var (outcome, first, last) = layer.Size == 0
            ? (RangeHeader.Outcome.Full, 0L, -1L)
            : RangeHeader.Evaluate(context.Request.Headers.Range.ToString(), layer.Size);
        if (outcome == RangeHeader.Outcome.Unsatisfiable)
        {
            response.StatusCode = 416;
            response.ContentLength = 0;
            response.Headers.ContentRange = $"bytes */{layer.Size}";
            return;
        }

        var length = last - first + 1;
        response.StatusCode = outcome == RangeHeader.Outcome.Partial ? 206 : 200;
        if (outcome == RangeHeader.Outcome.Partial)
            response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {first}-{last}/{layer.Size}");
        response.ContentLength = length;
        if (HttpMethods.IsHead(context.Request.Method) || length == 0) return;

        var ct = context.RequestAborted;
        if (layer.PhysicalPath is not null && context.Features.Get<IHttpResponseBodyFeature>() is { } body)
        {
            try
            {
                await body.SendFileAsync(layer.PhysicalPath, first, length, ct);
                return;
            }
            catch (FileNotFoundException)
            {
                // Deleted between the size check and the send: nothing was written yet, fall through to 404 below.
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }

        await using var stream = await images.OpenLayerAsync(id, first, ct);
        if (stream is null)
        {
            if (!response.HasStarted) await V1Results.Error(404, "Image not found").ExecuteAsync(context);
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
}
