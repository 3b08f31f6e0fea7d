using System.Buffers;
using System.Net;
using System.Runtime.InteropServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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
public sealed class S3StorageDriver : IStorageDriver, IPresignedUrlProvider, IDisposable
{
    /// <summary>Size of every multipart part but the last (S3's minimum is 5 MiB).</summary>
    public const int PartSize = 8 << 20;

    /// <summary>Parts uploaded concurrently; one more is being filled from the source meanwhile.</summary>
    public const int MaxPartsInFlight = 2;

    /// <summary>Upper bound of part buffers one stream upload holds at a time.</summary>
    public const int MaxPartsInMemory = MaxPartsInFlight + 1;

    /// <summary>Multipart uploads older than this are taken for crash leftovers by <see cref="CleanupTempAsync"/>.</summary>
    public static readonly TimeSpan AbandonedUploadAge = TimeSpan.FromHours(1);

    // S3 refuses copies larger than 5 GiB in one request; beyond that MoveAsync copies in ranged parts.
    private const long MaxSingleCopyBytes = 5L << 30;
    private const long CopyPartBytes = 512L << 20;
    private const int DeleteBatchSize = 1000;
    private const int MaxParts = 10_000;

    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly S3StorageOptions _options;
    private readonly ILogger _logger;
    private readonly string _prefix;

    // Set once the bucket is known to exist; a bucket is not expected to vanish while the registry runs.
    private volatile bool _bucketExists;

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
    /// aws-chunked uploads with checksum trailers, and AWS accepts both.
    /// </summary>
    public static AmazonS3Config CreateClientConfig(S3StorageOptions options)
    {
        var config = new AmazonS3Config();
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
    }

    public async Task<long> WriteStreamAsync(string path, Stream source, CancellationToken ct)
    {
        var key = ObjectKey(path);
        ArgumentNullException.ThrowIfNull(source);
        await CheckWritableAsync(path, ct);

        var first = ArrayPool<byte>.Shared.Rent(PartSize);
        var firstOwned = true;
        try
        {
            var filled = await FillAsync(source, first, PartSize, ct);
            if (filled < PartSize)
            {
                // The whole stream fits in one part: one PutObject, no multipart bookkeeping.
                ct.ThrowIfCancellationRequested();
                await PutObjectAsync(path, key, first.AsMemory(0, filled), ct);
                return filled;
            }
            firstOwned = false;
            return await MultipartUploadAsync(path, key, source, first, ct);
        }
        finally
        {
            if (firstOwned) ArrayPool<byte>.Shared.Return(first);
        }
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
        await HeadAsync(path, ObjectKey(path), ct) is not null;

    public async Task<long?> SizeAsync(string path, CancellationToken ct) =>
        (await HeadAsync(path, ObjectKey(path), ct))?.ContentLength;

    public async Task<DateTimeOffset?> LastModifiedAsync(string path, CancellationToken ct)
    {
        var head = await HeadAsync(path, ObjectKey(path), ct);
        if (head?.LastModified is not { } modified) return null;
        return new DateTimeOffset(modified.ToUniversalTime(), TimeSpan.Zero);
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
        children.Sort(StringComparer.Ordinal);
        return children;
    }

    public async Task<bool> DirectoryExistsAsync(string path, CancellationToken ct) =>
        await AnyUnderAsync(path, ObjectKey(path), ct);

    public async Task MoveAsync(string from, string to, CancellationToken ct)
    {
        var source = ObjectKey(from);
        var target = ObjectKey(to);
        var head = await HeadAsync(from, source, ct)
                   ?? throw new FileNotFoundException($"Storage object '{from}' does not exist", from);
        if (source == target) return;
        await CheckWritableAsync(to, ct);
        try
        {
            if (head.ContentLength > MaxSingleCopyBytes) await MultipartCopyAsync(source, target, head.ContentLength, ct);
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
            if (await HeadAsync(path, key, ct) is not null)
            {
                await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _options.Bucket, Key = key }, ct);
                return true;
            }
            // A prefix: delete every object below it, one listing page (at most 1000 keys) at a time.
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
            return deleted;
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

    // ---- writing -----------------------------------------------------------------------------------------

    private async Task PutObjectAsync(string path, string key, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        var array = MemoryMarshal.TryGetArray(content, out var segment) && segment.Array is not null
            ? segment
            : new ArraySegment<byte>(content.ToArray());
        using var body = new MemoryStream(array.Array!, array.Offset, array.Count, writable: false);
        var request = new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = key,
            InputStream = body,
            AutoCloseStream = false,
            ContentType = "application/octet-stream",
        };
        if (_options.Encrypt) request.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AES256;
        try
        {
            await _client.PutObjectAsync(request, ct);
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("PutObject", path, e);
        }
    }

    /// <summary>
    /// Uploads <paramref name="first"/> (a full part) and the rest of <paramref name="source"/> as one multipart
    /// upload: parts go out while the next one is read, at most <see cref="MaxPartsInFlight"/> at a time, and
    /// the object is published by CompleteMultipartUpload only after the source ended and the caller has not
    /// given up. Any failure aborts the upload so no parts are left behind. Takes ownership of <paramref name="first"/>.
    /// </summary>
    private async Task<long> MultipartUploadAsync(string path, string key, Stream source, byte[] first, CancellationToken ct)
    {
        string uploadId;
        try
        {
            var init = new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = key, ContentType = "application/octet-stream" };
            if (_options.Encrypt) init.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AES256;
            uploadId = (await _client.InitiateMultipartUploadAsync(init, ct)).UploadId;
        }
        catch (Exception e)
        {
            ArrayPool<byte>.Shared.Return(first);
            if (IsStoreFailure(e, ct)) throw Unavailable("InitiateMultipartUpload", path, e);
            throw;
        }

        var uploads = new List<Task<PartETag>>();
        using var slots = new SemaphoreSlim(MaxPartsInFlight);
        var completed = false;
        try
        {
            long total = PartSize;
            var partSize = PartSize;
            var buffer = first;
            var length = PartSize;
            var partNumber = 1;
            while (true)
            {
                await slots.WaitAsync(ct);
                uploads.Add(UploadPartAsync(path, key, uploadId, partNumber, buffer, length, slots, ct));
                // Parts fail fast: stop reading the source as soon as one part could not be stored.
                if (uploads.FirstOrDefault(u => u.IsFaulted || u.IsCanceled) is { } failed) await failed;

                // 10,000 parts at most: grow the parts of very large streams instead of failing at the limit.
                if (partNumber % (MaxParts / 10) == 0 && partSize < (512 << 20)) partSize *= 2;
                var next = ArrayPool<byte>.Shared.Rent(partSize);
                int read;
                try
                {
                    read = await FillAsync(source, next, partSize, ct);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(next);
                    throw;
                }
                if (read == 0)
                {
                    ArrayPool<byte>.Shared.Return(next);
                    break;
                }
                buffer = next;
                length = read;
                total += read;
                partNumber++;
            }

            var parts = await Task.WhenAll(uploads);
            // A caller that gave up after the last byte still gets nothing published.
            ct.ThrowIfCancellationRequested();
            try
            {
                await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
                {
                    BucketName = _options.Bucket,
                    Key = key,
                    UploadId = uploadId,
                    PartETags = parts.ToList(),
                }, ct);
            }
            catch (Exception e) when (IsStoreFailure(e, ct))
            {
                throw Unavailable("CompleteMultipartUpload", path, e);
            }
            completed = true;
            return total;
        }
        finally
        {
            if (!completed)
            {
                // Parts still uploading would otherwise land after the abort and linger as storage charges.
                try
                {
                    await Task.WhenAll(uploads);
                }
                catch (Exception)
                {
                    // The failure that got us here is the one to report; these parts are aborted below.
                }
                await AbortQuietlyAsync(key, uploadId);
            }
        }
    }

    private async Task<PartETag> UploadPartAsync(
        string path, string key, string uploadId, int partNumber, byte[] buffer, int length, SemaphoreSlim slot, CancellationToken ct)
    {
        try
        {
            // Off the reading loop's stack: the next part is read from the source while this one uploads.
            await Task.Yield();
            using var body = new MemoryStream(buffer, 0, length, writable: false);
            var response = await _client.UploadPartAsync(new UploadPartRequest
            {
                BucketName = _options.Bucket,
                Key = key,
                UploadId = uploadId,
                PartNumber = partNumber,
                PartSize = length,
                InputStream = body,
            }, ct);
            return new PartETag(partNumber, response.ETag);
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("UploadPart", path, e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            slot.Release();
        }
    }

    private async Task MultipartCopyAsync(string source, string target, long size, CancellationToken ct)
    {
        var init = new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = target };
        if (_options.Encrypt) init.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AES256;
        var uploadId = (await _client.InitiateMultipartUploadAsync(init, ct)).UploadId;
        var completed = false;
        try
        {
            var parts = new List<PartETag>();
            for (long first = 0, part = 1; first < size; first += CopyPartBytes, part++)
            {
                var response = await _client.CopyPartAsync(new CopyPartRequest
                {
                    SourceBucket = _options.Bucket,
                    SourceKey = source,
                    DestinationBucket = _options.Bucket,
                    DestinationKey = target,
                    UploadId = uploadId,
                    PartNumber = (int)part,
                    FirstByte = first,
                    LastByte = Math.Min(first + CopyPartBytes, size) - 1,
                }, ct);
                parts.Add(new PartETag((int)part, response.ETag));
            }
            await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _options.Bucket,
                Key = target,
                UploadId = uploadId,
                PartETags = parts,
            }, ct);
            completed = true;
        }
        finally
        {
            if (!completed) await AbortQuietlyAsync(target, uploadId);
        }
    }

    private async Task AbortQuietlyAsync(string key, string uploadId)
    {
        try
        {
            // Not the caller's token: a caller that gave up is exactly why the upload must go.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
            {
                BucketName = _options.Bucket,
                Key = key,
                UploadId = uploadId,
            }, timeout.Token);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or OperationCanceledException)
        {
            // CleanupTempAsync aborts it at a later start; the original failure matters more.
            _logger.LogWarning(e, "Could not abort multipart upload {UploadId} of {Key}; it is removed at a later start", uploadId, key);
        }
    }

    private async Task DeleteKeysAsync(List<string> keys, CancellationToken ct)
    {
        if (!_options.BatchDelete)
        {
            foreach (var key in keys)
                await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _options.Bucket, Key = key }, ct);
            return;
        }
        foreach (var batch in keys.Chunk(DeleteBatchSize))
        {
            var response = await _client.DeleteObjectsAsync(new DeleteObjectsRequest
            {
                BucketName = _options.Bucket,
                Objects = batch.Select(k => new KeyVersion { Key = k }).ToList(),
                Quiet = true,
            }, ct);
            if (response.DeleteErrors is { Count: > 0 } errors)
                throw new StorageUnavailableException(
                    $"S3 DeleteObjects in bucket '{_options.Bucket}' failed for {errors.Count} keys, first '{errors[0].Key}': {errors[0].Code} {errors[0].Message}");
        }
    }

    /// <summary>
    /// The file driver cannot hold an object below another object or where a directory is; neither may this
    /// one, so a key behaves the same on every driver. The checks run in parallel (one round trip).
    /// </summary>
    private async Task CheckWritableAsync(string path, CancellationToken ct)
    {
        var ancestors = new List<string>();
        for (var slash = path.IndexOf('/'); slash >= 0; slash = path.IndexOf('/', slash + 1)) ancestors.Add(path[..slash]);
        var directory = AnyUnderAsync(path, ObjectKey(path), ct);
        var objects = ancestors.Select(a => HeadAsync(a, ObjectKey(a), ct)).ToList();
        await Task.WhenAll(objects.Cast<Task>().Append(directory));
        if (await directory) throw new IOException($"Storage path '{path}' is a directory");
        for (var i = 0; i < ancestors.Count; i++)
            if (await objects[i] is not null) throw new IOException($"Storage path '{ancestors[i]}' is an object");
    }

    // ---- reading -----------------------------------------------------------------------------------------

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

    private async Task<bool> AnyUnderAsync(string path, string key, CancellationToken ct)
    {
        try
        {
            var page = await _client.ListObjectsV2Async(
                new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = key + "/", MaxKeys = 1 }, ct);
            return page.S3Objects is { Count: > 0 };
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

    // ---- keys and errors ---------------------------------------------------------------------------------

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
    private sealed class ResponseStream(GetObjectResponse response) : Stream
    {
        private readonly Stream _inner = response.ResponseStream;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _inner.ReadAsync(buffer, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) response.Dispose();
            base.Dispose(disposing);
        }
    }
}
