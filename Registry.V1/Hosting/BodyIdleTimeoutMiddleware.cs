using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Registry.Core.Configuration;

namespace Registry.V1.Hosting;

/// <summary>
/// Cuts a request whose body stops arriving (<c>body_idle_timeout_seconds</c>): when a handler waits that long for the
/// next byte, the read throws a 408 <see cref="BadHttpRequestException"/>, which <see cref="ErrorHandlingMiddleware"/>
/// answers in the protocol's error shape like Kestrel's own 408, with <c>Connection: close</c>, and the handler's
/// cleanup runs as for any body that fails midway. Kestrel's <c>MinRequestBodyDataRate</c>
/// (<c>body_min_rate_bytes_per_second</c>) averages over the whole body, so a body that sent much and then stalls
/// would be cut late or never; this is nginx's <c>client_body_timeout</c>: the time between two successive reads, and
/// only while one is waited for.
/// </summary>
public sealed class BodyIdleTimeoutMiddleware(RequestDelegate next, RegistrySettings settings)
{
    private readonly TimeSpan _timeout = TimeSpan.FromSeconds(settings.BodyIdleTimeoutSeconds);

    public async Task InvokeAsync(HttpContext context)
    {
        // Kestrel's own reader: installed before anything else replaces Request.Body (which would make BodyReader a
        // wrapper around that stream).
        using var body = new IdleTimeoutStream(context.Request.Body, context.Request.BodyReader, _timeout, context.RequestAborted);
        context.Request.Body = body;
        await next(context);
    }

    /// <summary>
    /// Reads Kestrel's body pipe as its own request stream does, with one timer per request armed only while a read
    /// waits: a read the transport already holds data for (the upload hot path) costs no timer change and no
    /// allocation. The timer cuts a read with <see cref="PipeReader.CancelPendingRead"/>, not a cancellation token:
    /// Kestrel's body reader survives a cancelled read result (handed back with AdvanceTo) but not a read abandoned by
    /// an exception, and it still drains the rest of the body after the answer. The host owns the inner stream (kept
    /// for the synchronous reads Kestrel refuses anyway) and the pipe, so disposing this leaves them open.
    /// </summary>
    private sealed class IdleTimeoutStream(Stream inner, PipeReader reader, TimeSpan timeout, CancellationToken requestAborted) : Stream
    {
        // Created on the first read that has to wait (most requests have no body, or a body already received).
        private Timer? _timer;
        private volatile bool _timedOut;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Flush() { }
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        // Kestrel refuses synchronous reads unless AllowSynchronousIO is set; they are not guarded.
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var pending = reader.ReadAsync(cancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                if (Take(pending.Result, buffer.Span) is { } read) return new ValueTask<int>(read);
                pending = reader.ReadAsync(cancellationToken);
            }
            return WaitAsync(pending, buffer, cancellationToken);
        }

        /// <summary>Waits for the pipe with the timer armed, as long as it hands back no data and no end.</summary>
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<int> WaitAsync(ValueTask<ReadResult> pending, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            _timer ??= new Timer(static state => ((IdleTimeoutStream)state!).OnIdle(), this, Timeout.Infinite, Timeout.Infinite);
            while (true)
            {
                ReadResult result;
                _timer.Change(timeout, Timeout.InfiniteTimeSpan);
                try
                {
                    result = await pending;
                }
                finally
                {
                    // Disarmed between reads: a handler busy with storage is not the client being idle.
                    _timer.Change(Timeout.Infinite, Timeout.Infinite);
                }
                if (Take(result, buffer.Span) is { } read) return read;
                pending = reader.ReadAsync(cancellationToken);
            }
        }

        /// <summary>Copies what the pipe holds into <paramref name="destination"/>; null when it held nothing yet.</summary>
        private int? Take(in ReadResult result, Span<byte> destination)
        {
            var data = result.Buffer;
            if (result.IsCanceled)
            {
                // Handing the cancelled result back leaves Kestrel's reader usable for draining the rest of the body.
                reader.AdvanceTo(data.Start);
                throw Cancelled();
            }
            if (data.IsEmpty && !result.IsCompleted)
            {
                reader.AdvanceTo(data.Start);
                return null;
            }
            var length = (int)Math.Min(data.Length, destination.Length);
            var taken = data.Slice(0, length);
            taken.CopyTo(destination);
            // The sequence is not to be touched after this: the pipe may reuse its segments at once.
            reader.AdvanceTo(taken.End);
            return length;
        }

        private void OnIdle()
        {
            _timedOut = true;
            try
            {
                reader.CancelPendingRead();
            }
            catch (InvalidOperationException)
            {
                // The request ended under a read its handler abandoned: Kestrel's reader is closed (ObjectDisposedException),
                // and an exception escaping a timer callback would end the process.
            }
        }

        /// <summary>An idle cut is a 408 unless the client has gone away meanwhile (RequestAborted).</summary>
        private Exception Cancelled() => _timedOut && !requestAborted.IsCancellationRequested
            ? new BadHttpRequestException(
                $"Reading the request body timed out: no data arrived for {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s",
                StatusCodes.Status408RequestTimeout)
            : new OperationCanceledException(requestAborted);

        protected override void Dispose(bool disposing)
        {
            if (disposing) _timer?.Dispose();
            base.Dispose(disposing);
        }
    }
}
