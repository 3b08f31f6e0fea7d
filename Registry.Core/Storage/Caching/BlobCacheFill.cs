using System.Security.Cryptography;
using Registry.Core.Distribution;
using Registry.Core.IO;

namespace Registry.Core.Storage.Caching;

/// <summary>
/// A stored blob's stream, read from its first byte, that copies what passes through into a temp file of the
/// <see cref="LocalBlobCache"/> and hashes it. When the reader has had all <c>size</c> bytes and they match the digest,
/// the temp file is flushed to disk and renamed into the cache in the background (the reader does not wait for it); a
/// reader that stops early, a short or wrong stream, or a local write error leaves nothing behind. The reader's bytes
/// never depend on the cache: a failing local disk only ends the fill.
/// </summary>
internal sealed class BlobCacheFill : ReadOnlyStream
{
    private readonly Stream _source;
    private readonly LocalBlobCache _cache;
    private readonly Digest _digest;
    private readonly long _size;
    private readonly string _tempFile;
    private readonly IncrementalHash _hash;
    private FileStream? _file;
    private long _received;

    public BlobCacheFill(Stream source, LocalBlobCache cache, Digest digest, long size, string tempFile)
    {
        _file = new FileStream(tempFile, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        _source = source;
        _cache = cache;
        _digest = digest;
        _size = size;
        _tempFile = tempFile;
        _hash = digest.CreateHash();
    }

    public override int Read(Span<byte> buffer)
    {
        var read = _source.Read(buffer);
        Copy(buffer[..read]);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        var read = await _source.ReadAsync(buffer, ct);
        Copy(buffer.Span[..read]);
        return read;
    }

    /// <summary>Writes what the reader got to the temp file (the page cache; flushed once at the end).</summary>
    private void Copy(ReadOnlySpan<byte> bytes)
    {
        if (_file is null) return;
        if (bytes.Length == 0 || _received + bytes.Length > _size)
        {
            // The store's stream ended early or ran long: not the blob the cache was asked to keep.
            Abandon();
            return;
        }
        try
        {
            _file.Write(bytes);
        }
        catch (IOException)
        {
            // A full or failing local disk ends the fill, never the reader's download.
            Abandon();
            return;
        }
        _hash.AppendData(bytes);
        _received += bytes.Length;
        if (_received == _size) Complete();
    }

    private void Complete()
    {
        var file = _file!;
        _file = null;
        var matches = Digest.FromHash(_digest.Algorithm, _hash.GetHashAndReset()) == _digest;
        if (!matches)
        {
            file.Dispose();
            _cache.Abandon(_digest, _tempFile);
            return;
        }
        // fsync before the rename, so that a crash never leaves an entry whose bytes did not reach the disk; off the
        // reader's path, which has its last bytes already.
        _ = Task.Run(() =>
        {
            try
            {
                using (file) file.Flush(flushToDisk: true);
            }
            catch (IOException)
            {
                _cache.Abandon(_digest, _tempFile);
                return;
            }
            _cache.Commit(_digest, _tempFile, _size);
        });
    }

    private void Abandon()
    {
        if (_file is null) return;
        _file.Dispose();
        _file = null;
        _cache.Abandon(_digest, _tempFile);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Abandon();
            _hash.Dispose();
            _source.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        Abandon();
        _hash.Dispose();
        await _source.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
