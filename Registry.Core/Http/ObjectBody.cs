using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.Win32.SafeHandles;

namespace Registry.Core.Http;

/// <summary>
/// Sends a slice of a stored object as the response body: read straight from the local file into the response's own
/// buffers when the storage driver has one, otherwise copied from the driver's stream with a fixed buffer. Nothing is
/// held whole in memory.
/// </summary>
public static class ObjectBody
{
    /// <summary>
    /// Bytes read from the file per write into the response pipe. Kestrel's own SendFileAsync is a 64 KiB stream copy
    /// on Linux (a read into a buffer, then a second copy into the pipe); reading larger slices directly into the pipe's
    /// memory saves that copy and most system calls, and is what closed the gap to sendfile(2) in the download benchmark.
    /// 512 KiB cost the server as little CPU per GiB as 1 MiB there (256 KiB: about a third more) and holds half the memory.
    /// </summary>
    public const int FileSegmentSize = 512 * 1024;

    /// <summary>
    /// Kestrel's MaxResponseBufferSize for the host: two file segments, so the next slice is read while the previous one is
    /// still being sent (Kestrel's default of 64 KiB stalls the read after every segment). A slow reader holds at most this
    /// plus one segment per connection.
    /// </summary>
    public const long ResponseBufferBytes = 2L * FileSegmentSize;

    /// <summary>
    /// Sends <paramref name="length"/> bytes from <paramref name="first"/>. False when the object vanished (deleted or
    /// collected since it was looked up) before anything was sent, so the caller can still answer "not found".
    /// A client that goes away ends the copy quietly.
    /// </summary>
    public static async Task<bool> SendAsync(
        HttpContext context, string? physicalPath, Func<long, CancellationToken, Task<Stream?>> open, long first, long length)
    {
        var ct = context.RequestAborted;
        if (physicalPath is not null && OpenFile(physicalPath) is { } handle)
        {
            using (handle)
            {
                await SendFileAsync(context, handle, first, length, ct);
            }
            return true;
        }

        await using var stream = await open(first, ct);
        if (stream is null) return false;
        await SendStreamAsync(context, stream, length, ct);
        return true;
    }

    /// <summary>The file opened for a sequential read (the kernel reads ahead further), or null when it is gone.</summary>
    private static SafeFileHandle? OpenFile(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // Gone since the lookup (a delete or a collection); the driver's stream says so too.
            return null;
        }
    }

    private static async Task SendFileAsync(HttpContext context, SafeFileHandle file, long offset, long length, CancellationToken ct)
    {
        var writer = context.Response.BodyWriter;
        try
        {
            var remaining = length;
            while (remaining > 0)
            {
                var memory = writer.GetMemory((int)Math.Min(FileSegmentSize, remaining));
                var want = (int)Math.Min(memory.Length, remaining);
                // A synchronous read: from the page cache it costs a copy, less than handing it to another thread.
                var read = RandomAccess.Read(file, memory.Span[..want], offset);
                if (read == 0)
                {
                    // Truncated under us: the promised Content-Length cannot be met, so the connection must not look complete.
                    context.Abort();
                    return;
                }
                writer.Advance(read);
                offset += read;
                remaining -= read;
                var flushed = await writer.FlushAsync(ct);
                if (flushed.IsCanceled || flushed.IsCompleted) return;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away; nothing to clean up.
        }
    }

    /// <summary>
    /// A driver's stream (S3, memory) read straight into the response pipe's memory, a whole segment before each flush:
    /// a network stream returns what one socket read had (often 16–64 KiB), and writing each read to the response
    /// stream flushed it, a send per read, after a copy out of a separate buffer.
    /// </summary>
    private static async Task SendStreamAsync(HttpContext context, Stream stream, long length, CancellationToken ct)
    {
        var writer = context.Response.BodyWriter;
        try
        {
            var remaining = length;
            while (remaining > 0)
            {
                var memory = writer.GetMemory((int)Math.Min(FileSegmentSize, remaining));
                var want = (int)Math.Min(memory.Length, remaining);
                var filled = 0;
                while (filled < want)
                {
                    var read = await stream.ReadAsync(memory[filled..want], ct);
                    if (read == 0) break;
                    filled += read;
                }
                writer.Advance(filled);
                remaining -= filled;
                if (filled < want)
                {
                    // The stored object ended early: the promised Content-Length cannot be met.
                    await writer.FlushAsync(ct);
                    context.Abort();
                    return;
                }
                var flushed = await writer.FlushAsync(ct);
                if (flushed.IsCanceled || flushed.IsCompleted) return;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away; nothing to clean up.
        }
    }
}
