using Microsoft.Win32.SafeHandles;
using Registry.Core.Distribution;
using Registry.Core.Http;

namespace Registry.V2.Proxy;

/// <summary>
/// One upstream download of a blob, shared by every client that asks for it meanwhile (docs/configuration.md,
/// 'Mirror'). The downloader writes the bytes into a temp file at increasing offsets; each client reads the same
/// file through the one shared handle (positional reads) as far as it has been written, waiting for more when it
/// catches up. The last byte is held back until the whole blob has been verified against its digest and length, so
/// a client of a blob that fails verification never receives a complete body: it is cut off one byte short.
/// The handle is closed once the downloader and every reader are done with it (a published blob's temp file has been
/// renamed by then, which open handles survive).
/// </summary>
public sealed class BlobFetch
{
    private readonly object _gate = new();
    private readonly TaskCompletionSource<UpstreamFailure?> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _repositories = new(StringComparer.Ordinal);
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SafeFileHandle? _handle;
    private int _users = 1;
    private const long SignalStep = 1024 * 1024;
    private long _written;
    private long _signalled;
    private bool _complete;
    private bool _failed;
    private bool _notFound;

    public BlobFetch(Digest digest) => Digest = digest;

    public Digest Digest { get; }

    /// <summary>The upstream's <c>Content-Length</c>; null when it streamed without one.</summary>
    public long? Length { get; private set; }

    /// <summary>Completes when the upstream answered: null on success (the body follows), else why not.</summary>
    public Task<UpstreamFailure?> Started => _started.Task;

    /// <summary>Completes when the download is over and, if it verified, the blob is published in storage.</summary>
    public Task Settled => _settled.Task;

    /// <summary>Every repository that asked for the blob during the download; each gets a link when it is published.</summary>
    public IReadOnlyList<string> Repositories { get { lock (_gate) return [.. _repositories]; } }

    public void AddRepository(string name)
    {
        lock (_gate) _repositories.Add(name);
    }

    internal void Settle() => _settled.TrySetResult();

    /// <summary>True once the upstream said it does not have the blob (404).</summary>
    public bool NotFound { get { lock (_gate) return _notFound; } }

    /// <summary>True once every byte arrived and matched the digest.</summary>
    public bool Complete { get { lock (_gate) return _complete; } }

    /// <summary>A new reader takes a share of the handle; false when the fetch is over (look in storage again).</summary>
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

    internal void Begin(SafeFileHandle handle, long? length)
    {
        lock (_gate)
        {
            _handle = handle;
            Length = length;
        }
        _started.TrySetResult(null);
    }

    internal void Refuse(UpstreamFailure? failure)
    {
        lock (_gate)
        {
            if (failure is null) _notFound = true;
            else _failed = true;
        }
        _started.TrySetResult(failure ?? new UpstreamFailure("not found", false));
        Signal();
    }

    internal void Advance(long written)
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

    internal void Finish(bool verified)
    {
        lock (_gate)
        {
            if (verified) _complete = true;
            else _failed = true;
        }
        Signal();
    }

    /// <summary>
    /// Copies up to <paramref name="buffer"/>'s length of verified-or-held-back-safe bytes at <paramref name="position"/>;
    /// 0 at the end of a complete blob; throws <see cref="IOException"/> when the fetch failed before the reader got everything.
    /// </summary>
    public async Task<int> ReadAsync(long position, Memory<byte> buffer, CancellationToken ct)
    {
        while (true)
        {
            Task wait;
            SafeFileHandle? handle = null;
            var count = 0;
            lock (_gate)
            {
                if (_failed) throw new IOException($"the upstream download of {Digest} failed");
                var readable = _complete ? _written : Math.Max(0, _written - 1);
                if (position < readable)
                {
                    // The caller's share keeps the handle open while it reads outside the lock.
                    handle = _handle ?? throw new InvalidOperationException("blob fetch read after its handle was closed");
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

    private void Signal()
    {
        TaskCompletionSource done;
        lock (_gate) (done, _progress) = (_progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        done.TrySetResult();
    }
}
