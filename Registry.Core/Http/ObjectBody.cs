using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Registry.Core.Http;

/// <summary>
/// Sends a slice of a stored object as the response body: through sendfile when the storage driver has the object
/// as a local file, otherwise copied from the driver's stream with a fixed buffer. Nothing is held whole in memory.
/// </summary>
public static class ObjectBody
{
    private const int CopyBufferSize = 256 * 1024;

    /// <summary>
    /// Sends <paramref name="length"/> bytes from <paramref name="first"/>. False when the object vanished (deleted or
    /// collected since it was looked up) before anything was sent, so the caller can still answer "not found".
    /// A client that goes away ends the copy quietly.
    /// </summary>
    public static async Task<bool> SendAsync(
        HttpContext context, string? physicalPath, Func<long, CancellationToken, Task<Stream?>> open, long first, long length)
    {
        var ct = context.RequestAborted;
        if (physicalPath is not null && context.Features.Get<IHttpResponseBodyFeature>() is { } body)
        {
            try
            {
                await body.SendFileAsync(physicalPath, first, length, ct);
                return true;
            }
            catch (FileNotFoundException)
            {
                // Gone since the lookup; nothing was written yet. The driver's stream below says so too.
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return true;
            }
        }

        await using var stream = await open(first, ct);
        if (stream is null) return false;
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            var remaining = length;
            while (remaining > 0)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), ct);
                if (read == 0) break;
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), ct);
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
        return true;
    }
}
