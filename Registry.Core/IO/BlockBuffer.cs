namespace Registry.Core.IO;

/// <summary>
/// Bytes read from a stream into pooled <see cref="Blocks"/> (1 MiB each) instead of one large array: the S3 driver's
/// upload parts are held this way, so that after a push their blocks serve the next stream (a blob cache fill, the next
/// part) rather than sitting idle in a pool of their own. Read back through <see cref="OpenRead"/>, a seekable stream
/// (the S3 client signs the body and rewinds it to send or to retry). <see cref="Dispose"/> returns the blocks.
/// </summary>
public sealed class BlockBuffer : IDisposable
{
    private readonly List<byte[]> _blocks = [];

    /// <summary>The bytes held.</summary>
    public int Length { get; private set; }

    /// <summary>Appends <paramref name="bytes"/>.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var span = Free().Span;
            var count = Math.Min(span.Length, bytes.Length);
            bytes[..count].CopyTo(span);
            Length += count;
            bytes = bytes[count..];
        }
    }

    /// <summary>Reads from <paramref name="source"/> until <see cref="Length"/> is <paramref name="capacity"/> or the source ends; returns the bytes read.</summary>
    public async Task<int> FillAsync(Stream source, int capacity, CancellationToken ct)
    {
        var start = Length;
        while (Length < capacity)
        {
            var free = Free();
            var wanted = Math.Min(free.Length, capacity - Length);
            var read = await source.ReadAtLeastAsync(free[..wanted], wanted, throwOnEndOfStream: false, ct);
            Length += read;
            if (read < wanted) break;
        }
        return Length - start;
    }

    /// <summary>A read-only, seekable view of the bytes held; valid until this buffer is disposed.</summary>
    public Stream OpenRead() => new Reader(this);

    public void Dispose()
    {
        foreach (var block in _blocks) Blocks.Return(block);
        _blocks.Clear();
        Length = 0;
    }

    /// <summary>The rest of the block the next byte goes to; a block is rented when the last one is full.</summary>
    private Memory<byte> Free()
    {
        if (Length / Blocks.Size == _blocks.Count) _blocks.Add(Blocks.Rent());
        return _blocks[Length / Blocks.Size].AsMemory(Length % Blocks.Size);
    }

    /// <summary>A <see cref="ReadOnlyStream"/> that can seek: the blocks stay until the buffer is disposed.</summary>
    private sealed class Reader(BlockBuffer buffer) : ReadOnlyStream
    {
        private long _position;

        public override bool CanSeek => true;
        public override long Length => buffer.Length;

        public override long Position
        {
            get => _position;
            set => _position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
        }

        public override int Read(Span<byte> destination)
        {
            var copied = 0;
            while (copied < destination.Length && _position < buffer.Length)
            {
                var offset = (int)(_position % Blocks.Size);
                var count = (int)Math.Min(Math.Min(Blocks.Size - offset, buffer.Length - _position), destination.Length - copied);
                buffer._blocks[(int)(_position / Blocks.Size)].AsSpan(offset, count).CopyTo(destination[copied..]);
                copied += count;
                _position += count;
            }
            return copied;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default) =>
            cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : new(Read(destination.Span));

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => buffer.Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
    }
}
