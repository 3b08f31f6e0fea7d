using System.Collections.Concurrent;
using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Registry.Core.IO;

namespace Registry.Core.Storage;

/// <summary>
/// Stores each key as an object <c>Prefix/key</c> in one S3 bucket (AWS, Ceph RGW, GCS interoperability, any
/// S3-compatible store). Objects appear only when PutObject or CompleteMultipartUpload succeeds, so readers
/// never see a partial object. Streams are uploaded as multipart uploads while they are read, holding at most
/// <see cref="MaxPartsInMemory"/> parts in memory; a failed or cancelled stream aborts its upload.
/// "Directories" are key prefixes. The file driver's rules hold here too: every key is validated by
/// <see cref="StorageKey"/>, and an object is refused below another object or where a directory is
/// (<see cref="IOException"/>). Failures of the store surface as <see cref="StorageUnavailableException"/>.
/// </summary>
public sealed partial class S3StorageDriver : IStorageDriver, IPresignedUrlProvider, IDisposable
{
    /// <summary>Size of every multipart part but the last (S3's minimum is 5 MiB).</summary>
    public const int PartSize = 8 << 20;

    /// <summary>Parts uploaded concurrently; one more is being filled from the source meanwhile.</summary>
    public const int MaxPartsInFlight = 2;

    /// <summary>
    /// Upper bound of parts one stream upload holds at a time. A part is held in pooled 1 MiB blocks (<see cref="BlockBuffer"/>):
    /// its own pool of 8 MiB buffers kept 24 MiB idle after each push, beside the blocks a following pull's cache fill took.
    /// </summary>
    public const int MaxPartsInMemory = MaxPartsInFlight + 1;

    // A full part is followed by a read this size before the next part buffer is taken: a stream that ends on a part
    // boundary (an 8 MiB layer) takes no buffer to find its end, and one part is stored with one PutObject.
    private const int ProbeBytes = 64 * 1024;

    /// <summary>Multipart uploads older than this are taken for crash leftovers by <see cref="CleanupTempAsync"/>.</summary>
    public static readonly TimeSpan AbandonedUploadAge = TimeSpan.FromHours(1);

    // S3 refuses copies larger than 5 GiB in one request; beyond that MoveAsync copies in ranged parts.
    private const long MaxSingleCopyBytes = 5L << 30;
    private const long CopyPartBytes = 512L << 20;
    private const int DeleteBatchSize = 1000;
    private const int SingleDeletesInFlight = 8;
    private const int MaxParts = 10_000;

    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly S3StorageOptions _options;
    private readonly ILogger _logger;
    private readonly string _prefix;

    // Paths this driver stored objects below, so not objects themselves unless this driver writes one there (which
    // removes the entry). Another instance writing an object where this one saw a directory is not seen: the
    // check guards against layout mistakes, which every instance would make alike, not against other writers.
    private readonly ConcurrentDictionary<string, byte> _knownDirectories = new(StringComparer.Ordinal);
    private const int MaxKnownDirectories = 16384;

    /// <summary>A driver with its own client configured from <paramref name="options"/>.</summary>
    public S3StorageDriver(S3StorageOptions options, ILogger? logger = null)
        : this(CreateClient(options), options, logger, ownsClient: true)
    {
    }

    /// <summary>A driver on a caller-made client (which the caller disposes).</summary>
    public S3StorageDriver(IAmazonS3 client, S3StorageOptions options, ILogger? logger = null)
        : this(client, options, logger, ownsClient: false)
    {
    }

    private S3StorageDriver(IAmazonS3 client, S3StorageOptions options, ILogger? logger, bool ownsClient)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _ownsClient = ownsClient;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _prefix = options.Prefix.Trim('/');
        if (_prefix.Length > 0) StorageKey.Validate(_prefix);
    }

    public string Kind => "s3";

    public S3StorageOptions Options => _options;

    /// <summary>
    /// The client settings for <paramref name="options"/>. A custom endpoint gets path-style addressing and
    /// checksums only where required: S3-compatible stores (Ceph RGW, Swift) reject the SDK's default
    /// aws-chunked uploads with checksum trailers, and AWS accepts both. The endpoint is resolved once per bucket
    /// (<see cref="S3EndpointCache"/>), not per request.
    /// </summary>
    public static AmazonS3Config CreateClientConfig(S3StorageOptions options)
    {
        var config = new AmazonS3Config();
        config.EndpointProvider = new S3EndpointCache(config.EndpointProvider);
        if (options.ServiceUrl is { } url)
        {
            config.ServiceURL = url.AbsoluteUri;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = options.Region ?? S3StorageOptions.DefaultRegion;
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region ?? S3StorageOptions.DefaultRegion);
            config.UseHttp = !options.Secure;
        }
        return config;
    }

    public static AmazonS3Client CreateClient(S3StorageOptions options)
    {
        var config = CreateClientConfig(options);
        // Without keys the SDK's default chain applies (environment, profile, instance role).
        return options.AccessKey is { Length: > 0 } access && options.SecretKey is { Length: > 0 } secret
            ? new AmazonS3Client(new BasicAWSCredentials(access, secret), config)
            : new AmazonS3Client(config);
    }

    public async Task<byte[]?> GetContentAsync(string path, CancellationToken ct)
    {
        var key = ObjectKey(path);
        try
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _options.Bucket, Key = key }, ct);
            var length = response.ContentLength;
            using var buffer = length is >= 0 and <= int.MaxValue ? new MemoryStream((int)length) : new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, ct);
            return buffer.ToArray();
        }
        catch (AmazonS3Exception e) when (IsNoSuchKey(e))
        {
            return null;
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("GetObject", path, e);
        }
    }

    public async Task PutContentAsync(string path, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        var key = ObjectKey(path);
        await CheckWritableAsync(path, ct);
        await PutObjectAsync(path, key, content, ct);
        RememberAncestors(path);
    }

    public async Task<long> WriteStreamAsync(string path, Stream source, CancellationToken ct)
    {
        var key = ObjectKey(path);
        ArgumentNullException.ThrowIfNull(source);
        await CheckWritableAsync(path, ct);

        var first = new BlockBuffer();
        var firstOwned = true;
        try
        {
            var filled = await first.FillAsync(source, PartSize, ct);
            var probe = filled < PartSize ? null : new byte[ProbeBytes];
            var probed = probe is null ? 0 : await source.ReadAsync(probe, ct);
            if (probed == 0)
            {
                // The whole stream fits in one part: one PutObject, no multipart bookkeeping.
                ct.ThrowIfCancellationRequested();
                await using (var body = first.OpenRead()) await PutObjectAsync(path, key, body, ct);
                RememberAncestors(path);
                return filled;
            }
            firstOwned = false;
            var total = await MultipartUploadAsync(path, key, source, first, probe!, probed, ct);
            RememberAncestors(path);
            return total;
        }
        finally
        {
            if (firstOwned) first.Dispose();
        }
    }

    /// <summary>
    /// A declared length of at most one part goes up as one PutObject while it is read, instead of through a part
    /// buffer: four parallel 8 MiB pushes with a Content-Length no longer hold 32 MiB of blocks (chunked ones still do).
    /// </summary>
    public async Task<long> WriteStreamAsync(string path, Stream source, long length, CancellationToken ct)
    {
        if (length is <= 0 or > PartSize) return await WriteStreamAsync(path, source, ct);
        var key = ObjectKey(path);
        ArgumentNullException.ThrowIfNull(source);
        await CheckWritableAsync(path, ct);
        var written = await PutObjectStreamingAsync(path, key, source, length, ct);
        if (written == length) RememberAncestors(path);
        return written;
    }

    public async Task<Stream?> OpenReadAsync(string path, long offset, CancellationToken ct)
    {
        var key = ObjectKey(path);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var request = new GetObjectRequest { BucketName = _options.Bucket, Key = key };
        if (offset > 0) request.ByteRange = new ByteRange($"bytes={offset}-");
        try
        {
            var response = await _client.GetObjectAsync(request, ct);
            return new ResponseStream(response);
        }
        catch (AmazonS3Exception e) when (IsNoSuchKey(e))
        {
            return null;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // Only an existing object has a range to miss: the offset is at or past its end.
            return new MemoryStream([], writable: false);
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("GetObject", path, e);
        }
    }

    public async Task<bool> ExistsAsync(string path, CancellationToken ct) =>
        await StatAsync(path, ObjectKey(path), ct) is not null;

    public async Task<long?> SizeAsync(string path, CancellationToken ct) =>
        (await StatAsync(path, ObjectKey(path), ct))?.Size;

    public async Task<DateTimeOffset?> LastModifiedAsync(string path, CancellationToken ct)
    {
        var head = await StatAsync(path, ObjectKey(path), ct);
        return head is null ? null : Modified(head);
    }

    public async Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct)
    {
        var dir = ObjectKey(path) + "/";
        var children = new List<string>();
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = dir, Delimiter = "/" };
        try
        {
            do
            {
                var page = await _client.ListObjectsV2Async(request, ct);
                foreach (var obj in page.S3Objects ?? []) AddChild(children, path, obj.Key[dir.Length..]);
                foreach (var prefix in page.CommonPrefixes ?? []) AddChild(children, path, prefix[dir.Length..].TrimEnd('/'));
                request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
            }
            while (request.ContinuationToken is not null);
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("ListObjectsV2", path, e);
        }
        // An object and a prefix of the same name (keys written behind the driver) list once.
        children.Sort(StringComparer.Ordinal);
        return children.Distinct(StringComparer.Ordinal).ToList();
    }

    public async Task<bool> DirectoryExistsAsync(string path, CancellationToken ct) =>
        await AnyUnderAsync(path, ObjectKey(path), ct);

    public async Task MoveAsync(string from, string to, CancellationToken ct)
    {
        var source = ObjectKey(from);
        var target = ObjectKey(to);
        var head = await StatAsync(from, source, ct)
                   ?? throw new FileNotFoundException($"Storage object '{from}' does not exist", from);
        if (source == target) return;
        await CheckWritableAsync(to, ct);
        try
        {
            if (head.Size > MaxSingleCopyBytes) await MultipartCopyAsync(source, target, head.Size.Value, ct);
            else
            {
                var copy = new CopyObjectRequest
                {
                    SourceBucket = _options.Bucket,
                    SourceKey = source,
                    DestinationBucket = _options.Bucket,
                    DestinationKey = target,
                };
                if (_options.Encrypt) copy.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AES256;
                await _client.CopyObjectAsync(copy, ct);
            }
            RememberAncestors(to);
            // The copy is complete before the source goes: a crash in between leaves both, never neither.
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _options.Bucket, Key = source }, ct);
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("CopyObject", from, e);
        }
    }

    public async Task<bool> DeleteAsync(string path, CancellationToken ct)
    {
        var key = ObjectKey(path);
        try
        {
            // A prefix first (what the collector deletes: image, blob and link directories): every object below it, one
            // listing page (at most 1000 keys) at a time. Only when nothing is below is the path asked for as an object,
            // so a directory costs no stat.
            var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = key + "/" };
            var deleted = false;
            do
            {
                var page = await _client.ListObjectsV2Async(request, ct);
                var keys = (page.S3Objects ?? []).Select(o => o.Key).ToList();
                if (keys.Count > 0)
                {
                    await DeleteKeysAsync(keys, ct);
                    deleted = true;
                }
                request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
            }
            while (request.ContinuationToken is not null);
            if (deleted || await StatAsync(path, key, ct) is null) return deleted;
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _options.Bucket, Key = key }, ct);
            return true;
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("Delete", path, e);
        }
    }

    /// <summary>
    /// Aborts multipart uploads under the prefix that started more than <see cref="AbandonedUploadAge"/> ago
    /// (a crashed writer's parts). Best effort: an unreachable store must not keep the registry from
    /// starting, so failures are logged and requests then answer 503 on their own.
    /// </summary>
    public async Task CleanupTempAsync(CancellationToken ct)
    {
        var cutoff = DateTime.UtcNow - AbandonedUploadAge;
        var request = new ListMultipartUploadsRequest { BucketName = _options.Bucket, Prefix = _prefix.Length > 0 ? _prefix + "/" : null };
        var aborted = 0;
        try
        {
            while (true)
            {
                var page = await _client.ListMultipartUploadsAsync(request, ct);
                foreach (var upload in page.MultipartUploads ?? [])
                {
                    if (upload.Initiated is not { } initiated || initiated.ToUniversalTime() > cutoff) continue;
                    await AbortQuietlyAsync(upload.Key, upload.UploadId);
                    aborted++;
                }
                if (page.IsTruncated != true) break;
                request.KeyMarker = page.NextKeyMarker;
                request.UploadIdMarker = page.NextUploadIdMarker;
            }
            if (aborted > 0) _logger.LogInformation("Aborted {Count} abandoned multipart uploads in bucket {Bucket}", aborted, _options.Bucket);
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            _logger.LogWarning(e, "Could not list abandoned multipart uploads in bucket {Bucket}: {Message}", _options.Bucket, e.Message);
        }
    }

    public async Task<Uri?> GetDownloadUrlAsync(string path, TimeSpan ttl, CancellationToken ct)
    {
        var key = ObjectKey(path);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        var request = new GetPreSignedUrlRequest
        {
            BucketName = _options.Bucket,
            Key = key,
            Verb = HttpVerb.GET,
            Expires = DateTime.UtcNow.Add(ttl),
            // The SDK otherwise presigns https even for an http ServiceURL.
            Protocol = (_options.ServiceUrl?.Scheme ?? (_options.Secure ? "https" : "http")) == "https" ? Protocol.HTTPS : Protocol.HTTP,
        };
        try
        {
            return new Uri(await _client.GetPreSignedURLAsync(request));
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("presign", path, e);
        }
    }

    public void Dispose()
    {
        if (_ownsClient) _client.Dispose();
    }
}
