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

    /// <summary>
    /// A local file read synchronously straight into the response pipe's memory: from the page cache a read costs a copy,
    /// less than handing it to another thread.
    /// </summary>
    private static Task SendFileAsync(HttpContext context, SafeFileHandle file, long offset, long length, CancellationToken ct) =>
        SendSegmentsAsync(context, length, (memory, sent) =>
        {
            var filled = 0;
            while (filled < memory.Length)
            {
                var read = RandomAccess.Read(file, memory.Span[filled..], offset + sent + filled);
                if (read == 0) break;
                filled += read;
            }
            return ValueTask.FromResult(filled);
        }, ct);

    /// <summary>
    /// A driver's stream (S3, memory) read into the response pipe's memory until a segment is full: a network stream
    /// returns what one socket read had (often 16–64 KiB), and writing each read to the response stream flushed it, a
    /// send per read after a copy out of a separate buffer: an S3 pull cost about 1.5x the server CPU per GiB.
    /// </summary>
    private static Task SendStreamAsync(HttpContext context, Stream stream, long length, CancellationToken ct) =>
        SendSegmentsAsync(context, length, async (memory, _) =>
        {
            var filled = 0;
            while (filled < memory.Length)
            {
                var read = await stream.ReadAsync(memory[filled..], ct);
                if (read == 0) break;
                filled += read;
            }
            return filled;
        }, ct);

    /// <summary>
    /// Sends <paramref name="length"/> bytes a segment at a time, each filled by <paramref name="fill"/> (given the pipe's
    /// memory and the bytes sent so far) and flushed once; a fill that comes back short means the object ended early.
    /// </summary>
    private static async Task SendSegmentsAsync(HttpContext context, long length, Func<Memory<byte>, long, ValueTask<int>> fill, CancellationToken ct)
    {
        var writer = context.Response.BodyWriter;
        try
        {
            long sent = 0;
            while (sent < length)
            {
                var memory = writer.GetMemory((int)Math.Min(FileSegmentSize, length - sent));
                var want = (int)Math.Min(memory.Length, length - sent);
                var filled = await fill(memory[..want], sent);
                writer.Advance(filled);
                sent += filled;
                if (filled < want)
                {
                    // Truncated under us: the promised Content-Length cannot be met, so the connection must not look complete.
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
