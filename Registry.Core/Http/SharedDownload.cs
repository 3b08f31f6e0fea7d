using Microsoft.AspNetCore.Http;
using Microsoft.Win32.SafeHandles;

namespace Registry.Core.Http;

/// <summary>
/// One upstream download shared by every client that asks for the same content meanwhile: a V1 mirror's layer
/// (docs/configuration.md, 'V1 mirroring') or a v2 mirror's blob ('Mirror'). The downloader writes the bytes into a
/// temp file at increasing offsets and says how far it got; each client reads the same file through the one shared
/// handle (positional reads) as far as it has been written, waiting for more when it catches up. The last byte is held
/// back until the downloader has verified the whole content (each protocol its own way: checksum or digest, and
/// length), so a client of content that fails verification never receives a complete body: it is cut off one byte
/// short. The handle is closed once the downloader and every reader are done with it (the temp file may have been
/// renamed or deleted by then, which open handles survive).
/// </summary>
public class SharedDownload(string description)
{
    private const long SignalStep = 1024 * 1024;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource<UpstreamFailure?> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SafeFileHandle? _handle;
    private int _users = 1;
    private long _written;
    private long _signalled;
    private bool _begun;
    private bool _complete;
    private bool _failed;
    private bool _notFound;

    /// <summary>The upstream's <c>Content-Length</c>; null when it streamed without one.</summary>
    public long? Length { get; private set; }

    /// <summary>Completes when the upstream answered: null on success (the body follows), else why not.</summary>
    public Task<UpstreamFailure?> Started => _started.Task;

    /// <summary>Completes when the download is over and, if it verified, the content is published in storage.</summary>
    public Task Settled => _settled.Task;

    /// <summary>True once the upstream said it does not have the content (404).</summary>
    public bool NotFound { get { lock (_gate) return _notFound; } }

    /// <summary>True once every byte arrived and verified.</summary>
    public bool Complete { get { lock (_gate) return _complete; } }

    /// <summary>The bytes in the temp file so far: the whole length once <see cref="Complete"/>.</summary>
    public long Written { get { lock (_gate) return _written; } }

    /// <summary>A new reader takes a share of the handle; false when the download is over (look in storage again).</summary>
    public bool TryJoin()
    {
        lock (_gate)
        {
            if (_users == 0) return false;
            _users++;
            return true;
        }
    }

    /// <summary>Gives a reader's (or the downloader's) share back; the last one closes the handle.</summary>
    public void Leave()
    {
        SafeFileHandle? close = null;
        lock (_gate)
        {
            if (--_users == 0) (close, _handle) = (_handle, null);
        }
        close?.Dispose();
    }

    /// <summary>The upstream is sending: readers may follow <paramref name="handle"/>, which the download now owns.</summary>
    public void Begin(SafeFileHandle handle, long? length)
    {
        lock (_gate)
        {
            _handle = handle;
            Length = length;
            _begun = true;
        }
        _started.TrySetResult(null);
    }

    /// <summary>
    /// The upstream gave no content: <paramref name="failure"/>, or null when it does not have it (404). Once the
    /// download has begun this is a failed download (<see cref="Finish"/> with false).
    /// </summary>
    public void Refuse(UpstreamFailure? failure)
    {
        lock (_gate)
        {
            if (_begun)
            {
                if (!_complete) _failed = true;
            }
            else if (failure is null) _notFound = true;
            else _failed = true;
        }
        _started.TrySetResult(failure ?? new UpstreamFailure("not found", false));
        Signal();
    }

    /// <summary><paramref name="written"/> bytes from offset 0 are in the temp file.</summary>
    public void Advance(long written)
    {
        bool wake;
        lock (_gate)
        {
            _written = written;
            // Readers are woken for the first bytes at once, then once per SignalStep: each wake-up is a thread-pool
            // hop per reader, and a reader that wakes reads everything written so far anyway.
            wake = _signalled == 0 || written - _signalled >= SignalStep;
            if (wake) _signalled = written;
        }
        if (wake) Signal();
    }

    /// <summary>
    /// The download is over: verified (readers get the last byte) or not (readers are cut off). A verified download
    /// stays readable whatever happens to its publication afterwards.
    /// </summary>
    public void Finish(bool verified)
    {
        lock (_gate)
        {
            if (verified) _complete = true;
            else if (!_complete) _failed = true;
        }
        _started.TrySetResult(new UpstreamFailure($"the upstream download of {description} failed", true));
        Signal();
    }

    /// <summary>Publication is over (done or given up): <see cref="Settled"/> completes.</summary>
    public void Settle() => _settled.TrySetResult();

    /// <summary>
    /// Copies up to <paramref name="buffer"/>'s length of readable bytes at <paramref name="position"/>, before
    /// <paramref name="end"/> (exclusive; <see cref="long.MaxValue"/> for the whole content); 0 at the end of complete
    /// content or of the range; throws <see cref="IOException"/> when the download failed before the reader got
    /// everything. The last byte (of the content, or of the range) is held back until the whole content verified, so
    /// the client of content that fails verification never receives all it asked for.
    /// </summary>
    public async Task<int> ReadAsync(long position, long end, Memory<byte> buffer, CancellationToken ct)
    {
        while (true)
        {
            Task wait;
            SafeFileHandle? handle = null;
            var count = 0;
            lock (_gate)
            {
                if (_failed) throw new IOException($"the upstream download of {description} failed");
                var readable = _complete ? Math.Min(_written, end) : Math.Max(0, Math.Min(_written, end) - 1);
                if (position < readable)
                {
                    // The caller's share keeps the handle open while it reads outside the lock.
                    handle = _handle ?? throw new InvalidOperationException($"download of {description} read after its handle was closed");
                    count = (int)Math.Min(buffer.Length, readable - position);
                }
                else if (_complete) return 0;
                wait = _progress.Task;
            }
            // Bytes just written are in the page cache: a synchronous read is cheaper than a thread-pool hop.
            if (handle is not null) return RandomAccess.Read(handle, buffer.Span[..count], position);
            await wait.WaitAsync(ct);
        }
    }

    /// <summary>
    /// Sends the content as it arrives into the response body (status and headers already set by the caller): read from
    /// the temp file straight into the response pipe's memory, as a local file is sent (<see cref="ObjectBody"/>), in
    /// slices as large as the download has ready; <paramref name="first"/> and <paramref name="count"/> send one range
    /// of it. When the download fails the connection is aborted, so the client never mistakes a cut body for the content.
    /// </summary>
    public async Task SendAsync(HttpContext context, long first = 0, long? count = null)
    {
        var ct = context.RequestAborted;
        var writer = context.Response.BodyWriter;
        var end = count is { } n0 ? first + n0 : long.MaxValue;
        try
        {
            var position = first;
            while (true)
            {
                var memory = writer.GetMemory(ObjectBody.FileSegmentSize);
                var n = await ReadAsync(position, end, memory, ct);
                if (n == 0) break;
                writer.Advance(n);
                position += n;
                var flushed = await writer.FlushAsync(ct);
                if (flushed.IsCanceled || flushed.IsCompleted) return;
            }
        }
        catch (IOException) when (!ct.IsCancellationRequested)
        {
            context.Abort();
        }
    }

    private void Signal()
    {
        TaskCompletionSource done;
        lock (_gate) (done, _progress) = (_progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        done.TrySetResult();
    }
}
