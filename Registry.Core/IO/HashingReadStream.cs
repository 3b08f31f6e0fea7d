using System.Security.Cryptography;

namespace Registry.Core.IO;

/// <summary>
/// Passes a stream through while feeding every byte read into one or more running hashes. Asynchronous reads hash
/// off the reader's path: the bytes are copied into a block, and a full block is hashed on the thread pool while the
/// reader goes on receiving and writing, so an upload costs a core for the hash beside the one that receives, rather
/// than the sum of both on one thread. One block is hashed at a time, in order. The hashes are complete once a read
/// has returned 0 or the stream is disposed; read to the end (or dispose) before asking a hash for its value.
/// </summary>
public sealed class HashingReadStream(Stream inner, params IReadOnlyList<IncrementalHash> hashes) : ReadOnlyStream
{
    /// <summary>Bytes hashed in one go off the reader's path: large enough that handing a block over costs little.</summary>
    private const int BlockSize = Blocks.Size;

    private byte[]? _filling;
    private int _filled;
    private byte[]? _hashing;
    private Task _pending = Task.CompletedTask;

    public override int Read(Span<byte> buffer)
    {
        HashBufferedAsync().GetAwaiter().GetResult();
        var n = inner.Read(buffer);
        foreach (var hash in hashes) hash.AppendData(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            await HashBufferedAsync().ConfigureAwait(false);
            return 0;
        }
        var read = buffer[..n];
        while (!read.IsEmpty)
        {
            _filling ??= Blocks.Rent();
            var count = Math.Min(read.Length, BlockSize - _filled);
            read.Span[..count].CopyTo(_filling.AsSpan(_filled));
            _filled += count;
            read = read[count..];
            if (_filled == BlockSize) await HandOverAsync().ConfigureAwait(false);
        }
        return n;
    }

    /// <summary>Starts hashing the filled block once the one before it is hashed; its buffer becomes the next to fill.</summary>
    private async Task HandOverAsync()
    {
        await _pending.ConfigureAwait(false);
        (_hashing, _filling) = (_filling, _hashing);
        var (block, count) = (_hashing!, _filled);
        _filled = 0;
        _pending = Task.Run(() =>
        {
            foreach (var hash in hashes) hash.AppendData(block, 0, count);
        });
    }

    /// <summary>Hashes what is buffered, after the block in flight: every byte read so far is in the hashes.</summary>
    private async Task HashBufferedAsync()
    {
        await _pending.ConfigureAwait(false);
        if (_filled == 0) return;
        foreach (var hash in hashes) hash.AppendData(_filling!, 0, _filled);
        _filled = 0;
    }

    public override async ValueTask DisposeAsync()
    {
        await ReleaseAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) ReleaseAsync().GetAwaiter().GetResult();
        base.Dispose(disposing);
    }

    /// <summary>Waits for the block in flight (the hashes must not be used or disposed under it), then returns the blocks.</summary>
    private async Task ReleaseAsync()
    {
        try
        {
            await HashBufferedAsync().ConfigureAwait(false);
        }
        finally
        {
            foreach (var block in new[] { _filling, _hashing })
                if (block is not null) Blocks.Return(block);
            (_filling, _hashing, _filled) = (null, null, 0);
        }
    }
}
