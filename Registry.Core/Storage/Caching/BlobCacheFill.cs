using System.Diagnostics;
using System.Threading.Channels;
using Registry.Core.Distribution;
using Registry.Core.IO;

namespace Registry.Core.Storage.Caching;

/// <summary>
/// A stored blob's stream, read from its first byte, that copies what passes through into a temp file of the
/// <see cref="LocalBlobCache"/>. The reader's path only copies its bytes into chunks of memory; a background writer
/// writes them to the temp file and hashes them, and once all <c>size</c> bytes are there and match the digest, flushes
/// the file to disk and renames it into the cache. On the reader's path, the write into the page cache cost about as
/// much CPU as the rest of the download and the hash half as much (README, 'S3 against the Go registry'). When
/// <see cref="ChunksInFlight"/> chunks are queued the reader waits for the writer, but only within a budget
/// (<see cref="ReaderDelayShare"/>); past that the fill is dropped. A reader that stops early, a short or
/// long stream, a local write error or a digest mismatch leaves nothing behind either. The reader's bytes never
/// depend on the cache.
/// </summary>
internal sealed class BlobCacheFill : ReadOnlyStream
{
    private const int ChunkSize = Blocks.Size;

    /// <summary>Chunks queued for the writer at most (per fill): how far the local disk may fall behind without delaying the reader.</summary>
    private const int ChunksInFlight = 16;

    /// <summary>
    /// How long the fill may make a download wait for the writer in all, before it gives up: <see cref="ReaderDelayGrace"/>
    /// (a busy machine schedules the writer late now and then) plus this share of the time spent reading.
    /// </summary>
    private const double ReaderDelayShare = 0.25;

    private static readonly TimeSpan ReaderDelayGrace = TimeSpan.FromSeconds(1);

    private readonly Stream _source;
    private readonly LocalBlobCache _cache;
    private readonly Digest _digest;
    private readonly long _size;
    private readonly string _tempFile;
    private readonly FileStream _file;
    private readonly Channel<(byte[] Chunk, int Count)> _queue =
        Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(ChunksInFlight) { SingleReader = true, SingleWriter = true });
    private readonly long _started = Stopwatch.GetTimestamp();
    private TimeSpan _waited;
    private byte[]? _chunk;
    private int _chunkCount;
    private long _received;
    private bool _ended;

    /// <summary>Set when the reader side gives the fill up; the writer then keeps nothing.</summary>
    private volatile bool _dropped;

    public BlobCacheFill(Stream source, LocalBlobCache cache, Digest digest, long size, string tempFile)
    {
        _file = new FileStream(tempFile, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        _source = source;
        _cache = cache;
        _digest = digest;
        _size = size;
        _tempFile = tempFile;
        _ = Task.Run(WriteAsync);
    }

    public override int Read(Span<byte> buffer)
    {
        var read = _source.Read(buffer);
        if (!Accept(read)) return read;
        ReadOnlySpan<byte> rest = buffer[..read];
        while (!_ended && rest.Length > 0)
        {
            rest = rest[Take(rest)..];
            // A synchronous reader is not made to wait: a full queue drops the fill.
            if (ChunkDone(rest.Length) && !TryHand()) Drop();
        }
        Finish();
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        var read = await _source.ReadAsync(buffer, ct);
        if (!Accept(read)) return read;
        ReadOnlyMemory<byte> rest = buffer[..read];
        while (!_ended && rest.Length > 0)
        {
            rest = rest[Take(rest.Span)..];
            if (ChunkDone(rest.Length) && !TryHand() && !(await WaitForWriterAsync(ct) && TryHand())) Drop();
        }
        Finish();
        return read;
    }

    /// <summary>Counts a read; false when the fill is over, or ends now because the stream ended early or ran long.</summary>
    private bool Accept(int read)
    {
        if (_ended) return false;
        if (read == 0 || _received + read > _size)
        {
            // Not the blob the cache was asked to keep.
            Drop();
            return false;
        }
        _received += read;
        return true;
    }

    /// <summary>Copies what fits of <paramref name="bytes"/> into the current chunk; the count copied.</summary>
    private int Take(ReadOnlySpan<byte> bytes)
    {
        _chunk ??= Blocks.Rent();
        var count = Math.Min(bytes.Length, ChunkSize - _chunkCount);
        bytes[..count].CopyTo(_chunk.AsSpan(_chunkCount));
        _chunkCount += count;
        return count;
    }

    /// <summary>Whether the current chunk goes to the writer now: it is full, or it holds the blob's last bytes.</summary>
    private bool ChunkDone(int left) => _chunkCount == ChunkSize || (left == 0 && _received == _size);

    private bool TryHand()
    {
        if (!_queue.Writer.TryWrite((_chunk!, _chunkCount))) return false;
        _chunk = null;
        _chunkCount = 0;
        return true;
    }

    /// <summary>After the blob's last byte went to the writer: nothing more comes.</summary>
    private void Finish()
    {
        if (_ended || _received != _size || _chunk is not null) return;
        _ended = true;
        _queue.Writer.TryComplete();
    }

    /// <summary>Waits for room in the writer's queue within what is left of the reader's delay budget; false when there is none.</summary>
    private async ValueTask<bool> WaitForWriterAsync(CancellationToken ct)
    {
        var budget = ReaderDelayGrace + (Stopwatch.GetElapsedTime(_started) - _waited) * ReaderDelayShare - _waited;
        if (budget <= TimeSpan.Zero)
        {
            _cache.FellBehind(_digest, _waited);
            return false;
        }
        var start = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(budget);
        try
        {
            return await _queue.Writer.WaitToWriteAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            _cache.FellBehind(_digest, _waited + Stopwatch.GetElapsedTime(start));
            return false;
        }
        finally
        {
            _waited += Stopwatch.GetElapsedTime(start);
        }
    }

    /// <summary>Ends the fill from the reader's side: the writer returns what is queued and keeps nothing.</summary>
    private void Drop()
    {
        if (_ended) return;
        _ended = true;
        _dropped = true;
        if (_chunk is not null) Blocks.Return(_chunk);
        _chunk = null;
        _queue.Writer.TryComplete();
    }

    /// <summary>
    /// Writes and hashes the queued chunks; keeps the temp file when it got all the bytes and they hash to the digest,
    /// fsynced before the rename so that a crash never leaves an entry whose bytes did not reach the disk.
    /// </summary>
    private async Task WriteAsync()
    {
        using var hash = _digest.CreateHash();
        long written = 0;
        var failed = false;
        await foreach (var (chunk, count) in _queue.Reader.ReadAllAsync())
        {
            try
            {
                // Into the page cache: synchronous, a hop to another thread per chunk would cost more than the write.
                if (!failed && !_dropped)
                {
                    RandomAccess.Write(_file.SafeFileHandle, chunk.AsSpan(0, count), written);
                    hash.AppendData(chunk, 0, count);
                    written += count;
                }
            }
            catch (IOException)
            {
                // A full or failing local disk ends the fill, never the reader's download.
                failed = true;
            }
            finally
            {
                Blocks.Return(chunk);
            }
        }
        var keep = !failed && !_dropped && written == _size && Digest.FromHash(_digest.Algorithm, hash.GetHashAndReset()) == _digest;
        try
        {
            using (_file)
            {
                if (keep) _file.Flush(flushToDisk: true);
            }
        }
        catch (IOException)
        {
            keep = false;
        }
        if (keep) _cache.Commit(_digest, _tempFile, _size, _waited);
        else _cache.Abandon(_digest, _tempFile);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Drop();
            _source.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        Drop();
        await _source.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
