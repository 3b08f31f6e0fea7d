using System.Globalization;
using System.Runtime.CompilerServices;
using Registry.Core.Configuration;

namespace Registry.V1.Hosting;

/// <summary>
/// Cuts a request whose body stops arriving (<c>body_idle_timeout_seconds</c>): when a handler waits that long for the
/// next byte, the read throws a 408 <see cref="BadHttpRequestException"/>, which <see cref="ErrorHandlingMiddleware"/>
/// answers in the protocol's error shape like Kestrel's own 408, and the handler's cleanup runs as for any body that
/// fails midway. Kestrel's <c>MinRequestBodyDataRate</c> (<c>body_min_rate_bytes_per_second</c>) averages over the
/// whole body, so a body that sent much and then stalls would be cut late or never; this is nginx's
/// <c>client_body_timeout</c>: the time between two successive reads, and only while one is waited for.
/// </summary>
public sealed class BodyIdleTimeoutMiddleware(RequestDelegate next, RegistrySettings settings)
{
    private readonly TimeSpan _timeout = TimeSpan.FromSeconds(settings.BodyIdleTimeoutSeconds);

    public async Task InvokeAsync(HttpContext context)
    {
        using var body = new IdleTimeoutStream(context.Request.Body, _timeout, context.RequestAborted);
        context.Request.Body = body;
        await next(context);
    }

    /// <summary>
    /// One timer per request, armed only while a read waits: a read the transport already holds data for (the upload
    /// hot path) costs no timer change and no allocation. The host owns the inner stream, so disposing this leaves it open.
    /// </summary>
    private sealed class IdleTimeoutStream(Stream inner, TimeSpan timeout, CancellationToken requestAborted) : Stream
    {
        // Created on the first read (most requests have no body); linked to RequestAborted so that one token serves
        // both, and a caller passing RequestAborted (every handler's bound CancellationToken) needs no other link.
        private CancellationTokenSource? _idle;

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
            var idle = _idle ??= CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
            // The timer fired just as the previous read was answered: the body was still idle that long.
            if (IsIdleCut(idle, cancellationToken)) throw TimedOut();
            if (!cancellationToken.CanBeCanceled || cancellationToken == requestAborted)
            {
                var read = inner.ReadAsync(buffer, idle.Token);
                return read.IsCompleted ? read : WaitAsync(read, idle, cancellationToken);
            }
            return WaitLinkedAsync(buffer, idle, cancellationToken);
        }

        /// <summary>A caller token other than RequestAborted (rare): linked for this read only.</summary>
        private async ValueTask<int> WaitLinkedAsync(Memory<byte> buffer, CancellationTokenSource idle, CancellationToken caller)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(idle.Token, caller);
            return await WaitAsync(inner.ReadAsync(buffer, linked.Token), idle, caller);
        }

        /// <summary>Waits for a pending read with the timer armed; an idle cut is a 408, any other cancellation passes through.</summary>
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<int> WaitAsync(ValueTask<int> read, CancellationTokenSource idle, CancellationToken caller)
        {
            idle.CancelAfter(timeout);
            try
            {
                return await read;
            }
            catch (OperationCanceledException) when (IsIdleCut(idle, caller))
            {
                throw TimedOut();
            }
            finally
            {
                // Disarmed between reads: a handler busy with storage is not the client being idle.
                idle.CancelAfter(Timeout.Infinite);
            }
        }

        /// <summary>The timer cancelled the read, not the client going away (RequestAborted) nor the caller.</summary>
        private bool IsIdleCut(CancellationTokenSource idle, CancellationToken caller) =>
            idle.IsCancellationRequested && !requestAborted.IsCancellationRequested && !caller.IsCancellationRequested;

        private BadHttpRequestException TimedOut() => new(
            $"Reading the request body timed out: no data arrived for {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s",
            StatusCodes.Status408RequestTimeout);

        protected override void Dispose(bool disposing)
        {
            if (disposing) _idle?.Dispose();
            base.Dispose(disposing);
        }
    }
}
