using Registry.Core.Http;

namespace Registry.V1.Mirroring;

public enum LayerStartOutcome { Streaming, NotFound, Failed }

/// <summary>How a layer fetch began: streaming (length known or not), not on the upstream, or failed before a byte.</summary>
public sealed record LayerStart(LayerStartOutcome Outcome, long? Length = null, UpstreamFailure? Failure = null);

/// <summary>
/// One upstream layer download that any number of requests follow. The writer appends what it reads to a spool file
/// and says how far it got; readers send from the spool up to that point but hold the last byte back until the whole
/// layer was verified (length and checksum), so a client never receives a complete body that failed verification;
/// storage publishes the layer right after (its flush need not delay the clients). Reference counted: the spool file
/// goes when the writer and the last reader are done.
/// </summary>
public sealed class LayerFetch(string spoolPath)
{
    private readonly TaskCompletionSource<LayerStart> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<bool> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _written;
    private volatile bool _verified;
    private int _references = 1;

    public string SpoolPath => spoolPath;

    /// <summary>Completes once the upstream answered (or failed before sending the layer).</summary>
    public Task<LayerStart> Started => _started.Task;

    /// <summary>Bytes in the spool so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Completed with true once the layer is in storage, false when the fetch failed.</summary>
    public Task<bool> Finished => _finished.Task;

    /// <summary>Adds a reader; false when the fetch is over and its spool gone.</summary>
    public bool TryAcquire()
    {
        lock (_gate)
        {
            if (_references == 0) return false;
            _references++;
            return true;
        }
    }

    /// <summary>Drops a reader (or the writer); the last one out deletes the spool.</summary>
    public void Release()
    {
        lock (_gate)
        {
            if (--_references > 0) return;
        }
        try
        {
            File.Delete(spoolPath);
        }
        catch (IOException)
        {
            // Removed with the temp folder later; nothing reads it any more.
        }
    }

    /// <summary>True once every byte arrived and matched the upstream's length and checksum.</summary>
    public bool Verified => _verified;

    public void Start(LayerStart start) => _started.TrySetResult(start);

    public void MarkVerified()
    {
        _verified = true;
        Pulse();
    }

    public void Advance(int bytes)
    {
        Interlocked.Add(ref _written, bytes);
        Pulse();
    }

    public void Finish(bool stored)
    {
        _started.TrySetResult(new LayerStart(LayerStartOutcome.Failed));
        _finished.TrySetResult(stored);
        Pulse();
    }

    /// <summary>Waits until more than <paramref name="seen"/> bytes were written, the layer verified or the fetch finished.</summary>
    public Task WaitAsync(long seen, CancellationToken ct)
    {
        var next = Volatile.Read(ref _progress).Task;
        if (Written > seen || _verified || _finished.Task.IsCompleted) return Task.CompletedTask;
        return next.WaitAsync(ct);
    }

    private void Pulse() =>
        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
