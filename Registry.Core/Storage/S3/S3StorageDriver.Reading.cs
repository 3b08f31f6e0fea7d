using System.Buffers;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Registry.Core.IO;

namespace Registry.Core.Storage;

/// <summary>Reading, the checks before writes, object keys and the mapping of store failures.</summary>
public sealed partial class S3StorageDriver
{
    /// <summary>
    /// The object stored at <paramref name="key"/>, or null: the first key from it on, which is the object when there is
    /// one. A one-key listing rather than a HEAD, as distribution's S3 driver does its Stat: a missing object is an empty
    /// page, where a HEAD's 404 is an exception in the SDK (the costliest part of a write check that finds nothing),
    /// and a missing bucket is an error of its own, where a HEAD's 404 cannot tell it from a missing object.
    /// </summary>
    private async Task<S3Object?> StatAsync(string path, string key, CancellationToken ct) =>
        await FirstObjectAsync(path, key, ct) is { } first && first.Key == key ? first : null;

    private async Task<bool> AnyUnderAsync(string path, string key, CancellationToken ct) =>
        await FirstObjectAsync(path, key + "/", ct) is not null;

    /// <summary>The first object whose key starts with <paramref name="prefix"/> in S3's (UTF-8 byte) order, or null when there is none.</summary>
    private async Task<S3Object?> FirstObjectAsync(string path, string prefix, CancellationToken ct)
    {
        try
        {
            var page = await _client.ListObjectsV2Async(
                new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = prefix, MaxKeys = 1 }, ct);
            return page.S3Objects is [{ } first] ? first : null;
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("ListObjectsV2", path, e);
        }
    }

    /// <summary>Lists only names a key can spell, so every listed path can be passed back to this driver.</summary>
    private static void AddChild(List<string> children, string path, string name)
    {
        if (StorageKey.IsValidSegment(name)) children.Add($"{path}/{name}");
    }

    /// <summary>A listed object's time, as <see cref="LastModifiedAsync"/> and subtree reads report it.</summary>
    private static DateTimeOffset? Modified(S3Object o) =>
        o.LastModified is { } time ? new DateTimeOffset(time.ToUniversalTime(), TimeSpan.Zero) : null;

    /// <summary>Reads until <paramref name="count"/> bytes or the end of the source; returns the bytes read.</summary>
    private static async Task<int> FillAsync(Stream source, byte[] buffer, int count, CancellationToken ct)
    {
        var filled = 0;
        while (filled < count)
        {
            var n = await source.ReadAsync(buffer.AsMemory(filled, count - filled), ct);
            if (n == 0) break;
            filled += n;
        }
        return filled;
    }

    /// <summary>The object's whole length from a ranged answer's <c>Content-Range: bytes first-last/length</c> (RFC 9110, 14.4), or null.</summary>
    private static long? ObjectLength(string? contentRange) =>
        contentRange?.LastIndexOf('/') is int slash and >= 0 && long.TryParse(contentRange.AsSpan(slash + 1), out var length) ? length : null;

    private string ObjectKey(string path)
    {
        StorageKey.Validate(path);
        return _prefix.Length == 0 ? path : _prefix + "/" + path;
    }

    private static bool IsNoSuchKey(AmazonS3Exception e) =>
        e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode is "NoSuchKey" or "NotFound" or null or "";

    /// <summary>
    /// What the store (or the way to it) did wrong, as opposed to the caller: S3 error answers, network
    /// failures, timeouts. The caller's own cancellation and errors of the caller's source stream pass through.
    /// </summary>
    private static bool IsStoreFailure(Exception e, CancellationToken ct) => e switch
    {
        StorageUnavailableException => false,
        OperationCanceledException => !ct.IsCancellationRequested,
        AmazonServiceException or AmazonClientException or HttpRequestException or IOException => true,
        _ => false,
    };

    private StorageUnavailableException Unavailable(string operation, string path, Exception e)
    {
        var reason = e switch
        {
            AmazonServiceException s => $"{(int)s.StatusCode} {s.ErrorCode}: {s.Message}",
            OperationCanceledException => "timed out",
            _ => e.Message,
        };
        return new StorageUnavailableException($"S3 {operation} of '{path}' in bucket '{_options.Bucket}' failed: {reason}", e);
    }

    /// <summary>
    /// An object's bytes from an offset, in order: the first <see cref="ReadRangeSize"/> bytes are the body of the GET that
    /// opened the read, read as they arrive; the rest come in further ranged GETs, up to <see cref="RangesAhead"/> of them
    /// fetched into pooled buffers while the reader is still behind. One GET streams as fast as RGW (or S3) serves one
    /// request; the Go registry's single pass-through GET was as fast as ours (README, 'S3 against the Go registry').
    /// Every range asks for the ETag of the first answer (If-Match), so an object replaced during the read fails it instead
    /// of mixing two objects' bytes; a failed or short range fails the read; disposing the stream stops the fetches.
    /// </summary>
    private sealed class RangedObjectStream : ReadOnlyStream
    {
        private readonly S3StorageDriver _driver;
        private readonly string _path;
        private readonly string _key;
        private readonly string _etag;
        private readonly long _end;
        private readonly GetObjectResponse _first;
        private readonly long _firstLength;
        private readonly Queue<(Task<byte[]> Fetch, int Count)> _ahead = new();
        private readonly CancellationTokenSource _stop = new();
        private long _firstRead;
        private long _next;
        private byte[]? _current;
        private int _currentCount;
        private int _currentRead;
        private bool _disposed;
        private bool _failed;

        /// <summary>
        /// <paramref name="first"/> answered a GET of the object from <paramref name="offset"/>: its body holds
        /// <paramref name="firstLength"/> bytes and the object ends at <paramref name="end"/>.
        /// </summary>
        public RangedObjectStream(S3StorageDriver driver, string path, string key, GetObjectResponse first, long offset, long firstLength, long end)
        {
            _driver = driver;
            _path = path;
            _key = key;
            _first = first;
            _etag = first.ETag;
            _firstLength = firstLength;
            _end = end;
            _next = offset + firstLength;
            while (_ahead.Count < RangesAhead && _next < _end) FetchNext();
        }

        public override int Read(Span<byte> buffer)
        {
            var bytes = ArrayPool<byte>.Shared.Rent(buffer.Length);
            try
            {
                var read = ReadAsync(bytes.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
                bytes.AsSpan(0, read).CopyTo(buffer);
                return read;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(bytes);
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // A range lost to a failed or cancelled read would leave a gap: nothing more is read.
            if (_failed) throw new IOException("An earlier read of this stream failed");
            if (buffer.Length == 0) return 0;
            if (_firstRead < _firstLength)
            {
                var read = await _first.ResponseStream.ReadAsync(buffer, ct);
                if (read == 0) throw _driver.Unavailable("GetObject", _path, new IOException($"the answer ended after {_firstRead} of {_firstLength} bytes"));
                _firstRead += read;
                // Its connection goes back to the client's pool now, not at the end of the whole read.
                if (_firstRead == _firstLength) _first.Dispose();
                return read;
            }
            if (_current is not null && _currentRead == _currentCount)
            {
                ArrayPool<byte>.Shared.Return(_current);
                _current = null;
            }
            if (_current is null)
            {
                if (!_ahead.TryDequeue(out var range)) return 0;
                if (_next < _end) FetchNext();
                try
                {
                    _current = await range.Fetch.WaitAsync(ct);
                }
                catch (Exception e)
                {
                    _failed = true;
                    Discard(range.Fetch);
                    if (IsStoreFailure(e, ct)) throw _driver.Unavailable("GetObject", _path, e);
                    throw;
                }
                _currentCount = range.Count;
                _currentRead = 0;
            }
            var count = Math.Min(buffer.Length, _currentCount - _currentRead);
            _current.AsSpan(_currentRead, count).CopyTo(buffer.Span);
            _currentRead += count;
            return count;
        }

        private void FetchNext()
        {
            var count = (int)Math.Min(ReadRangeSize, _end - _next);
            _ahead.Enqueue((FetchAsync(_next, count), count));
            _next += count;
        }

        /// <summary>The <paramref name="count"/> bytes from <paramref name="start"/> in a pooled buffer, which the reader returns.</summary>
        private async Task<byte[]> FetchAsync(long start, int count)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(count);
            try
            {
                var request = new GetObjectRequest
                {
                    BucketName = _driver._options.Bucket,
                    Key = _key,
                    ByteRange = new ByteRange(start, start + count - 1),
                    EtagToMatch = _etag,
                };
                using var response = await _driver._client.GetObjectAsync(request, _stop.Token);
                var filled = await FillAsync(response.ResponseStream, buffer, count, _stop.Token);
                if (filled != count) throw new IOException($"the range from byte {start} ended after {filled} of {count} bytes");
                return buffer;
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
        }

        /// <summary>A fetch the reader will not take: its buffer goes back to the pool once it ends, its failure is observed.</summary>
        private static void Discard(Task<byte[]> fetch) =>
            fetch.ContinueWith(static done =>
            {
                if (done.IsCompletedSuccessfully) ArrayPool<byte>.Shared.Return(done.Result);
                else _ = done.Exception;
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                _stop.Cancel();
                while (_ahead.TryDequeue(out var range)) Discard(range.Fetch);
                if (_current is not null) ArrayPool<byte>.Shared.Return(_current);
                _current = null;
                _first.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
