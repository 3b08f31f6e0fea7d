using Registry.Core.IO;
using Registry.Core.Storage;

namespace Registry.V2.Uploads;

/// <summary>
/// The parts of an upload session read back to back, each opened only when the previous one ends, so a
/// session of any size is streamed with one open object at a time. A part that vanished is an error: the
/// caller holds the session lock, so that means the session was cancelled or purged underneath it.
/// </summary>
internal sealed class ConcatenatedReadStream(IStorageDriver storage, IReadOnlyList<string> paths) : ReadOnlyStream
{
    private int _next;
    private Stream? _current;

    public override int Read(Span<byte> buffer) =>
        throw new NotSupportedException("Upload parts are read asynchronously only.");

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_current is null)
            {
                if (_next == paths.Count) return 0;
                var path = paths[_next++];
                _current = await storage.OpenReadAsync(path, 0, cancellationToken).ConfigureAwait(false)
                    ?? throw new FileNotFoundException($"Upload part '{path}' disappeared", path);
            }
            var n = await _current.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n > 0 || buffer.Length == 0) return n;
            await _current.DisposeAsync().ConfigureAwait(false);
            _current = null;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _current?.Dispose();
        base.Dispose(disposing);
    }
}
