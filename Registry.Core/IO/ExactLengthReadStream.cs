using System.Runtime.ExceptionServices;

namespace Registry.Core.IO;

/// <summary>
/// Passes exactly <paramref name="length"/> (more than 0) bytes of a source through to a consumer that was promised that
/// many (a request body of that Content-Length), and fails the read that would complete them unless the source ends
/// right there and <paramref name="ct"/> has not fired: a source of another length, or a caller that gave up, never lets
/// the consumer finish. What went wrong is kept, so the owner can tell the source's fault from the consumer's.
/// </summary>
public sealed class ExactLengthReadStream(Stream source, long length, CancellationToken ct) : ReadOnlyStream
{
    private readonly byte[] _probe = new byte[1];
    private readonly long _length = length;
    private long _remaining = length;

    /// <summary>Bytes taken from the source: one more than the length when it had more, fewer when it ended early.</summary>
    public long BytesRead { get; private set; }

    /// <summary>True when the source held fewer or more bytes than the length.</summary>
    public bool WrongLength { get; private set; }

    /// <summary>What the source threw, if it did.</summary>
    public ExceptionDispatchInfo? SourceFailure { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        if (_remaining == 0 || buffer.IsEmpty) return 0;
        int n;
        try
        {
            n = source.Read(buffer[..Want(buffer.Length)]);
            Arrived(n);
            if (_remaining == 0) Ended(source.Read(_probe));
        }
        catch (Exception e) when (!WrongLength)
        {
            SourceFailure = ExceptionDispatchInfo.Capture(e);
            throw;
        }
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_remaining == 0 || buffer.IsEmpty) return 0;
        int n;
        try
        {
            n = await source.ReadAsync(buffer[..Want(buffer.Length)], ct).ConfigureAwait(false);
            Arrived(n);
            if (_remaining == 0) Ended(await source.ReadAsync(_probe, ct).ConfigureAwait(false));
        }
        catch (Exception e) when (!WrongLength)
        {
            SourceFailure = ExceptionDispatchInfo.Capture(e);
            throw;
        }
        return n;
    }

    private int Want(int room) => (int)Math.Min(room, _remaining);

    private void Arrived(int n)
    {
        if (n == 0) throw Mismatch($"The source ended after {BytesRead} of the {_length} bytes declared");
        BytesRead += n;
        _remaining -= n;
    }

    private void Ended(int probed)
    {
        BytesRead += probed;
        if (probed > 0) throw Mismatch($"The source held more than the {_length} bytes declared");
        ct.ThrowIfCancellationRequested();
    }

    private IOException Mismatch(string message)
    {
        WrongLength = true;
        return new IOException(message);
    }
}
