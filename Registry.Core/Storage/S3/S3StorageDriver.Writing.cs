using System.Runtime.InteropServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Registry.Core.IO;

namespace Registry.Core.Storage;

/// <summary>Writing: single puts, streamed multipart uploads, server-side copies and batched deletes.</summary>
public sealed partial class S3StorageDriver : IBatchDeleting
{
    private async Task PutObjectAsync(string path, string key, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        var array = MemoryMarshal.TryGetArray(content, out var segment) && segment.Array is not null
            ? segment
            : new ArraySegment<byte>(content.ToArray());
        using var body = new MemoryStream(array.Array!, array.Offset, array.Count, writable: false);
        await PutObjectAsync(path, key, body, ct);
    }

    private async Task PutObjectAsync(string path, string key, Stream body, CancellationToken ct)
    {
        try
        {
            await _client.PutObjectAsync(PutRequest(key, body), ct);
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("PutObject", path, e);
        }
    }

    /// <summary>
    /// Sends <paramref name="length"/> bytes of <paramref name="source"/> as the body of one PutObject while they are
    /// read (the SDK signs them chunk by chunk), so no part buffer holds them. A source of another length or one that
    /// fails aborts the request, so nothing is published; its failure is the source's, not the store's.
    /// Returns the bytes read from the source: not <paramref name="length"/> when it had another length.
    /// </summary>
    private async Task<long> PutObjectStreamingAsync(string path, string key, Stream source, long length, CancellationToken ct)
    {
        var body = new ExactLengthReadStream(source, length, ct);
        var request = PutRequest(key, body);
        request.Headers.ContentLength = length;
        try
        {
            await _client.PutObjectAsync(request, ct);
        }
        catch (Exception) when (body.WrongLength)
        {
            return body.BytesRead;
        }
        catch (Exception) when (body.SourceFailure is { } failure)
        {
            failure.Throw();
            throw;
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("PutObject", path, e);
        }
        return length;
    }

    private PutObjectRequest PutRequest(string key, Stream body)
    {
        var request = new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = key,
            InputStream = body,
            AutoCloseStream = false,
            ContentType = "application/octet-stream",
        };
        if (_options.Encrypt) request.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AES256;
        return request;
    }

    /// <summary>
    /// Uploads <paramref name="first"/> (a full part), the first <paramref name="probed"/> bytes of <paramref name="probe"/>
    /// and the rest of <paramref name="source"/> as one multipart upload: parts go out while the next one is read, at
    /// most <see cref="MaxPartsInFlight"/> at a time, and the object is published by CompleteMultipartUpload only after
    /// the source ended and the caller has not given up. Any failure aborts the upload so no parts are left behind.
    /// Takes ownership of <paramref name="first"/>.
    /// </summary>
    private async Task<long> MultipartUploadAsync(
        string path, string key, Stream source, BlockBuffer first, byte[] probe, int probed, CancellationToken ct)
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
            first.Dispose();
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
            var part = first;
            var partNumber = 1;
            while (true)
            {
                await slots.WaitAsync(ct);
                uploads.Add(UploadPartAsync(path, key, uploadId, partNumber, part, slots, ct));
                // Parts fail fast: stop reading the source as soon as one part could not be stored.
                if (uploads.FirstOrDefault(u => u.IsFaulted || u.IsCanceled) is { } failed) await failed;

                // 10,000 parts at most: grow the parts of very large streams instead of failing at the limit.
                if (partNumber % (MaxParts / 10) == 0 && partSize < (512 << 20)) partSize *= 2;
                // The probe's bytes start the next part; only a source with more to read takes a part buffer.
                if (probed == 0) probed = await source.ReadAsync(probe, ct);
                if (probed == 0) break;
                var next = new BlockBuffer();
                try
                {
                    next.Append(probe.AsSpan(0, probed));
                    await next.FillAsync(source, partSize, ct);
                    probed = 0;
                }
                catch
                {
                    next.Dispose();
                    throw;
                }
                part = next;
                total += next.Length;
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
        string path, string key, string uploadId, int partNumber, BlockBuffer part, SemaphoreSlim slot, CancellationToken ct)
    {
        try
        {
            // Off the reading loop's stack: the next part is read from the source while this one uploads.
            await Task.Yield();
            await using var body = part.OpenRead();
            var response = await _client.UploadPartAsync(new UploadPartRequest
            {
                BucketName = _options.Bucket,
                Key = key,
                UploadId = uploadId,
                PartNumber = partNumber,
                PartSize = part.Length,
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
            part.Dispose();
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

    public async Task DeleteObjectsAsync(IReadOnlyCollection<string> paths, CancellationToken ct)
    {
        var keys = paths.Select(ObjectKey).Distinct(StringComparer.Ordinal).ToList();
        try
        {
            await DeleteKeysAsync(keys, ct);
        }
        catch (Exception e) when (IsStoreFailure(e, ct))
        {
            throw Unavailable("DeleteObjects", keys.Count > 0 ? paths.First() : "", e);
        }
    }

    private async Task DeleteKeysAsync(List<string> keys, CancellationToken ct)
    {
        if (!_options.BatchDelete)
        {
            // A store without DeleteObjects (GCS): a request per key, a few at once, as a batch would have them gone together.
            await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = SingleDeletesInFlight, CancellationToken = ct }, async (key, token) =>
                await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _options.Bucket, Key = key }, token));
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
    /// one, so a key behaves the same on every driver. Ancestors this driver has written below are skipped
    /// (<see cref="_knownDirectories"/>). Of the others, the shallowest is probed first with one key listing from it on:
    /// nothing there means no deeper ancestor can be an object and the path cannot be a directory, so a write into a new
    /// repository costs one request instead of one for each of its new levels. Only when that ancestor holds objects
    /// (or a sibling key sorting before them hid the answer) are the path and the deeper ancestors checked, in parallel.
    /// </summary>
    private async Task CheckWritableAsync(string path, CancellationToken ct)
    {
        var ancestors = new List<string>();
        for (var slash = path.IndexOf('/'); slash >= 0; slash = path.IndexOf('/', slash + 1))
            if (!_knownDirectories.ContainsKey(path[..slash])) ancestors.Add(path[..slash]);
        if (ancestors.Count > 0)
        {
            var shallowest = ObjectKey(ancestors[0]);
            var first = (await FirstObjectAsync(ancestors[0], shallowest, ct))?.Key;
            if (first is null)
            {
                // Nothing at or below the shallowest unknown ancestor, so nothing above the path in it and nothing below.
                _knownDirectories.TryRemove(path, out _);
                return;
            }
            if (first == shallowest) throw new IOException($"Storage path '{ancestors[0]}' is an object");
            // Objects below it (an object there would sort first); otherwise a sibling such as "name-x" hid the answer.
            if (first.StartsWith(shallowest + "/", StringComparison.Ordinal)) ancestors.RemoveAt(0);
        }
        var directory = AnyUnderAsync(path, ObjectKey(path), ct);
        var objects = ancestors.Select(a => StatAsync(a, ObjectKey(a), ct)).ToList();
        await Task.WhenAll(objects.Cast<Task>().Append(directory));
        if (await directory) throw new IOException($"Storage path '{path}' is a directory");
        for (var i = 0; i < ancestors.Count; i++)
            if (await objects[i] is not null) throw new IOException($"Storage path '{ancestors[i]}' is an object");
        // The path is about to become an object: an ancestor check below it must ask the store again.
        _knownDirectories.TryRemove(path, out _);
    }

    /// <summary>After an object was stored at <paramref name="path"/>: every ancestor is a directory.</summary>
    private void RememberAncestors(string path)
    {
        // Bounded: past the limit it starts over, and the next writes pay the HEADs once more.
        if (_knownDirectories.Count >= MaxKnownDirectories) _knownDirectories.Clear();
        for (var slash = path.IndexOf('/'); slash >= 0; slash = path.IndexOf('/', slash + 1)) _knownDirectories.TryAdd(path[..slash], 0);
    }
}
