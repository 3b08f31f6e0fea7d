using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Registry.Core.Observability;

/// <summary>
/// Counts the bytes that pass through a request or response body, whatever the handler uses (the stream, the pipe, a
/// file send): Content-Length is absent for chunked bodies and says nothing about a body cut short.
/// </summary>
public static class CountingBody
{
    /// <summary>Wraps the request body; <see cref="Counter.Bytes"/> is what the handlers read.</summary>
    public static Counter CountRequest(HttpContext context)
    {
        var counter = new Counter();
        context.Request.Body = new CountingStream(context.Request.Body, counter);
        return counter;
    }

    /// <summary>Wraps the response body feature; <see cref="Counter.Bytes"/> is what the handlers wrote.</summary>
    public static Counter CountResponse(HttpContext context)
    {
        var counter = new Counter();
        var inner = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        context.Features.Set<IHttpResponseBodyFeature>(new CountingResponseBody(inner, counter));
        return counter;
    }

    /// <summary>Bytes counted so far. A body is read or written by one operation at a time, so a plain field will do.</summary>
    public sealed class Counter
    {
        public long Bytes;
    }

    private sealed class CountingResponseBody(IHttpResponseBodyFeature inner, Counter counter) : IHttpResponseBodyFeature
    {
        private Stream? _stream;
        private PipeWriter? _writer;

        // Each wraps the inner feature's own stream or writer, so a byte is counted once whichever the handler uses.
        public Stream Stream => _stream ??= new CountingStream(inner.Stream, counter);
        public PipeWriter Writer => _writer ??= new CountingPipeWriter(inner.Writer, counter);
        public void DisableBuffering() => inner.DisableBuffering();
        public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);
        public Task CompleteAsync() => inner.CompleteAsync();

        public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
        {
            await inner.SendFileAsync(path, offset, count, cancellationToken);
            counter.Bytes += count ?? new FileInfo(path).Length - offset;
        }
    }

    private sealed class CountingPipeWriter(PipeWriter inner, Counter counter) : PipeWriter
    {
        public override void Advance(int bytes)
        {
            inner.Advance(bytes);
            counter.Bytes += bytes;
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);
        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
        public override void CancelPendingFlush() => inner.CancelPendingFlush();
        public override void Complete(Exception? exception = null) => inner.Complete(exception);
        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;
        public override long UnflushedBytes => inner.UnflushedBytes;

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            counter.Bytes += source.Length;
            return inner.WriteAsync(source, cancellationToken);
        }
    }

    /// <summary>Counts reads and writes; the host owns the inner stream, so disposing this leaves it open.</summary>
    private sealed class CountingStream(Stream inner, Counter counter) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));
        public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Counted(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await inner.ReadAsync(buffer, cancellationToken));

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            counter.Bytes += count;
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            counter.Bytes += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            counter.Bytes += buffer.Length;
        }

        private int Counted(int read)
        {
            counter.Bytes += read;
            return read;
        }
    }
}
