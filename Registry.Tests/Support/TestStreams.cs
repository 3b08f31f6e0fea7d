namespace Registry.Tests.Support;

/// <summary>
/// A read-only source that hands out <see cref="Data"/> in small chunks, yielding between them so concurrent
/// writers and readers interleave, like a chunked HTTP request body does.
/// </summary>
internal class ChunkedStream(byte[] data, int chunkSize) : Stream
{
    private int _position;
    private bool _ended;

    public byte[] Data { get; } = data;

    /// <summary>Called with the number of bytes handed out so far, before each read; may throw or cancel.</summary>
    public Action<int>? BeforeRead { get; init; }

    /// <summary>Called once when a read reports the end of the data.</summary>
    public Action? AtEnd { get; init; }

    /// <summary>Whether a read from this stream has ever seen a cancelled token.</summary>
    public bool SawCancellation { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BeforeRead?.Invoke(_position);
        await Task.Yield();
        if (cancellationToken.IsCancellationRequested) SawCancellation = true;
        cancellationToken.ThrowIfCancellationRequested();
        var n = Math.Min(Math.Min(chunkSize, buffer.Length), Data.Length - _position);
        Data.AsMemory(_position, n).CopyTo(buffer);
        _position += n;
        if (n == 0 && buffer.Length > 0 && !_ended)
        {
            _ended = true;
            AtEnd?.Invoke();
        }
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

internal static class TestData
{
    /// <summary>Deterministic pseudo-random bytes, so a wrong offset or a dropped chunk shows up.</summary>
    public static byte[] Bytes(int length, int seed = 1)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static byte[] Filled(int length, byte value)
    {
        var data = new byte[length];
        Array.Fill(data, value);
        return data;
    }
}
