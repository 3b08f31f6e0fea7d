using System.Security.Cryptography;
using Registry.Core.IO;

namespace Registry.V1.Images;

/// <summary>Passes a body through while feeding every byte read into a running hash.</summary>
public sealed class HashingReadStream(Stream inner, IncrementalHash hash) : ReadOnlyStream
{
    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        hash.AppendData(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        hash.AppendData(buffer.Span[..n]);
        return n;
    }
}
