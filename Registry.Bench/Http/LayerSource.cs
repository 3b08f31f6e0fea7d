using System.Net;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Registry.Bench.Http;

/// <summary>
/// A request body of <c>length</c> pseudo-random bytes generated chunk by chunk (never a buffer
/// of the whole layer), fed into a caller-owned SHA-256 as it is sent. Unless told to declare its length, it has no
/// known length, so HttpClient sends it chunked, as docker does; declared, it goes with a Content-Length, as curl sends a file.
/// </summary>
internal sealed class LayerContent : HttpContent
{
    private const int ChunkSize = 64 * 1024;

    private readonly long _length;
    private readonly ulong _seed;
    private readonly IncrementalHash? _hash;
    private readonly bool _declareLength;

    /// <param name="hash">Fed every byte sent; null where the digest was computed before the clock started, so that
    /// the client's hashing does not take a core from the server being measured.</param>
    public LayerContent(long length, ulong seed, IncrementalHash? hash, bool declareLength = false)
    {
        _length = length;
        _seed = seed;
        _hash = hash;
        _declareLength = declareLength;
        Headers.ContentType = new("application/octet-stream");
    }

    public long BytesSent { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var generator = new LayerBytes(_seed);
        var buffer = new byte[ChunkSize];
        var remaining = _length;
        while (remaining > 0)
        {
            var count = (int)Math.Min(buffer.Length, remaining);
            generator.Fill(buffer.AsSpan(0, count));
            _hash?.AppendData(buffer, 0, count);
            await stream.WriteAsync(buffer.AsMemory(0, count), cancellationToken);
            remaining -= count;
            BytesSent += count;
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _declareLength ? _length : 0;
        return _declareLength;
    }
}

/// <summary>
/// Pseudo-random layer bytes at memory speed: each chunk is a slice of a fixed 1 MiB random pool,
/// taken at a pseudo-random offset and XORed with a per-chunk 64-bit key, so no two chunks repeat.
/// A plain PRNG would cost the client about as much CPU as the server spends hashing, and on a
/// shared 2-core machine that would hold the server back.
/// </summary>
internal struct LayerBytes(ulong seed)
{
    private const int PoolSize = 1 << 20;
    private static readonly byte[] Pool = CreatePool();

    private ulong _state = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;

    /// <summary>Fills <paramref name="destination"/>, which must not exceed half the pool.</summary>
    public void Fill(Span<byte> destination)
    {
        var key = Next();
        var offset = (int)(key % (ulong)(PoolSize - destination.Length)) & ~7;
        var source = Pool.AsSpan(offset, destination.Length);
        var keyVector = new Vector<ulong>(key);
        var sourceVectors = MemoryMarshal.Cast<byte, Vector<ulong>>(source);
        var destinationVectors = MemoryMarshal.Cast<byte, Vector<ulong>>(destination);
        for (var i = 0; i < sourceVectors.Length; i++)
        {
            destinationVectors[i] = sourceVectors[i] ^ keyVector;
        }

        for (var i = sourceVectors.Length * Vector<byte>.Count; i < destination.Length; i++)
        {
            destination[i] = (byte)(source[i] ^ (byte)key);
        }
    }

    private static byte[] CreatePool()
    {
        var pool = new byte[PoolSize];
        var generator = new LayerBytes(0x2545F4914F6CDD1DUL);
        var words = MemoryMarshal.Cast<byte, ulong>(pool.AsSpan());
        for (var i = 0; i < words.Length; i++)
        {
            words[i] = generator.Next();
        }

        return pool;
    }

    /// <summary>xorshift64*.</summary>
    private ulong Next()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return _state * 0x2545F4914F6CDD1DUL;
    }
}
