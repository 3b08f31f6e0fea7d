using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Registry.Core.Distribution;
using Registry.Core.IO;
using Registry.Core.Observability;

namespace Registry.Core.Storage.Caching;

/// <summary>
/// The background fills of the <see cref="LocalBlobCache"/>: each reads a blob from the store again after a pull asked
/// for it, hashes it while writing a temp file, and only when all its bytes are there and match the digest flushes the
/// file to disk and renames it into the cache. The pull itself never waits for a fill: on this project's two-core
/// benchmark machine the fill's write and hash on the pull's path took the first pull from S3 to 0.45–0.63x the Go
/// registry's rate (README, 'S3 against the Go registry'). At most <see cref="Concurrency"/> fills run at once; a fill
/// that fails (the store, the local disk, a digest that does not match) or is stopped at shutdown leaves neither an
/// entry nor a temp file.
/// </summary>
public sealed class BlobCacheFills(LocalBlobCache cache, ILogger<BlobCacheFills> log) : BackgroundService
{
    /// <summary>Fills at once: one per two cores, at most two; each is a store read, a hash and a local write.</summary>
    public static int Concurrency { get; } = Math.Clamp(Environment.ProcessorCount / 2, 1, 2);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        cache.Enabled
            ? Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(() => WorkAsync(stoppingToken), CancellationToken.None)))
            : Task.CompletedTask;

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var request in cache.Requests.ReadAllAsync(stoppingToken)) await FillAsync(request, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: what still waits is not filled.
            while (cache.Requests.TryRead(out var request)) cache.Abandon(request.Digest, null);
        }
    }

    private async Task FillAsync(LocalBlobCache.FillRequest request, CancellationToken stoppingToken)
    {
        var tempFile = cache.NewTempFile();
        string? failure;
        try
        {
            failure = await WriteAsync(request, tempFile, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            cache.Abandon(request.Digest, tempFile);
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A store or local disk that fails ends this fill; the pulls go on from the store, and the next whole
            // pull asks again.
            failure = $"{e.GetType().Name}: {e.Message}";
        }
        if (failure is null)
        {
            cache.Commit(request.Digest, tempFile, request.Size);
            return;
        }
        cache.Abandon(request.Digest, tempFile);
        RegistryMetrics.BlobCacheFills.WithLabels("failed").Inc();
        log.LogWarning("Blob cache: not keeping {Digest}: {Failure}", request.Digest, failure);
    }

    /// <summary>Copies the blob into <paramref name="tempFile"/>, hashed on the way and flushed to disk; why not to keep it, or null.</summary>
    private static async Task<string?> WriteAsync(LocalBlobCache.FillRequest request, string tempFile, CancellationToken ct)
    {
        await using var source = await request.Open(ct);
        if (source is null) return "the store no longer has it";
        using var file = new FileStream(tempFile, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        using var hash = request.Digest.CreateHash();
        var block = Blocks.Rent();
        try
        {
            long written = 0;
            int read;
            while ((read = await source.ReadAtLeastAsync(block, block.Length, throwOnEndOfStream: false, ct)) > 0)
            {
                if (written + read > request.Size) return $"the store sent more than its {request.Size} bytes";
                hash.AppendData(block, 0, read);
                // Into the page cache: synchronous, off every request's path.
                RandomAccess.Write(file.SafeFileHandle, block.AsSpan(0, read), written);
                written += read;
            }
            if (written != request.Size) return $"the store sent {written} of its {request.Size} bytes";
        }
        finally
        {
            Blocks.Return(block);
        }
        var actual = Digest.FromHash(request.Digest.Algorithm, hash.GetHashAndReset());
        if (actual != request.Digest) return $"the stored bytes hash to {actual}";
        // Before the rename, so that a crash never leaves an entry whose bytes did not reach the disk.
        file.Flush(flushToDisk: true);
        return null;
    }
}
