using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Registry.Core.IO;

namespace Registry.Core.Storage;

/// <summary>Reading, the checks before writes, object keys and the mapping of store failures.</summary>
public sealed partial class S3StorageDriver
{
    private async Task<GetObjectMetadataResponse?> HeadAsync(string path, string key, CancellationToken ct)
    {
        try
        {
            return await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _options.Bucket, Key = key }, ct);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // A HEAD answer has no body, so a missing bucket looks like a missing object: rule that out once.
            if (!_bucketExists) await CheckBucketAsync(path, ct);
            return null;
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("HeadObject", path, e);
        }
    }

    private async Task CheckBucketAsync(string path, CancellationToken ct)
    {
        try
        {
            // ListBucket: a permission the driver needs anyway, unlike GetBucketLocation or HeadBucket's.
            await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _prefix + "/", MaxKeys = 1 }, ct);
            _bucketExists = true;
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("HeadObject", path, e);
        }
    }

    private async Task<bool> AnyUnderAsync(string path, string key, CancellationToken ct) =>
        await FirstKeyAsync(path, key + "/", ct) is not null;

    /// <summary>
    /// Whether an object is stored at <paramref name="key"/>: the object, when there is one, is the first key from it on.
    /// A listing, not a HEAD: a missing object is then an empty page, where a HEAD's 404 is an exception in the SDK.
    /// </summary>
    private async Task<bool> IsObjectAsync(string path, string key, CancellationToken ct) =>
        await FirstKeyAsync(path, key, ct) == key;

    /// <summary>The first key starting with <paramref name="prefix"/> in S3's (UTF-8 byte) order, or null when there is none.</summary>
    private async Task<string?> FirstKeyAsync(string path, string prefix, CancellationToken ct)
    {
        try
        {
            var page = await _client.ListObjectsV2Async(
                new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = prefix, MaxKeys = 1 }, ct);
            return page.S3Objects is [{ } first] ? first.Key : null;
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("ListObjectsV2", path, e);
        }
    }

    /// <summary>Lists only names a key can spell, so every listed path can be passed back to this driver.</summary>
    private static void AddChild(List<string> children, string path, string name)
    {
        if (!StorageKey.IsValidSegment(name)) return;
        var child = $"{path}/{name}";
        if (children.Count == 0 || children[^1] != child) children.Add(child);
    }

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

    /// <summary>The body of a GetObject answer; disposing it releases the response and its connection.</summary>
    private sealed class ResponseStream(GetObjectResponse response) : ReadOnlyStream
    {
        private readonly Stream _inner = response.ResponseStream;

        public override int Read(Span<byte> buffer) => _inner.Read(buffer);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _inner.ReadAsync(buffer, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing) response.Dispose();
            base.Dispose(disposing);
        }
    }
}
