using System.Security.Cryptography;

namespace Registry.Core.IO;

/// <summary>Passes a stream through while feeding every byte read into one or more running hashes.</summary>
public sealed class HashingReadStream(Stream inner, params IReadOnlyList<IncrementalHash> hashes) : ReadOnlyStream
{
    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        foreach (var hash in hashes) hash.AppendData(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        foreach (var hash in hashes) hash.AppendData(buffer.Span[..n]);
        return n;
    }
}
