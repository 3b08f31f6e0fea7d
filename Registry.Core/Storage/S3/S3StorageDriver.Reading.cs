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
