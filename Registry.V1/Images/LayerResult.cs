using Registry.Core.Http;
using Registry.Core.Names;

namespace Registry.V1.Images;

/// <summary>
/// Streams a layer with the IMM headers, honouring Range (206/416, Docker Registry HTTP API V1, 'Images'). A file-driver layer is
/// read straight into the response's buffers (<see cref="ObjectBody"/>); other drivers stream with a fixed buffer. Nothing is held whole in memory.
/// </summary>
public sealed class LayerResult(ImageService images, ImageId id, LayerInfo layer, string? accelRedirect) : IResult
{
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

        if (RangeHeader.Apply(response, context.Request.Headers.Range.ToString(), layer.Size) is not (var first, var length)) return;
        if (HttpMethods.IsHead(context.Request.Method) || length == 0) return;

        if (!await ObjectBody.SendAsync(context, layer.PhysicalPath, (offset, ct) => images.OpenLayerAsync(id, offset, ct), first, length)
            && !response.HasStarted)
            await V1Results.Error(404, "Image not found").ExecuteAsync(context);
    }
}
