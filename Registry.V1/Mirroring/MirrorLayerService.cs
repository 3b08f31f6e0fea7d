using System.Collections.Concurrent;
using System.Security.Cryptography;
using Registry.Core.Concurrency;
using Registry.Core.Http;
using Registry.Core.IO;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.V1.Images;

namespace Registry.V1.Mirroring;

/// <summary>
/// Layers on a local miss (docs/configuration.md, 'V1 mirroring'): one upstream GET per layer however many clients ask
/// at once (they all follow the same <see cref="LayerFetch"/>), streamed to them while it is written to storage. The
/// layer is verified on the way (its length, and <c>sha256(json ‖ "\n" ‖ layer)</c> against the upstream's
/// <c>X-Docker-Checksum-Payload</c> when it sent one) and published by the storage driver's atomic write only when
/// both hold; a cut, a stall or a mismatch fails the write, so storage never holds half a layer.
/// </summary>
public sealed class MirrorLayerService(
    IStorageDriver storage, V1Upstream upstream, MirrorImageService images, IGcCoordinator gc, ILogger<MirrorLayerService> logger)
{
    private readonly ConcurrentDictionary<string, LayerFetch> _fetches = new(StringComparer.Ordinal);

    /// <summary>True when <c>mirroring.source</c> is set.</summary>
    public bool Enabled => upstream.Enabled;

    /// <summary>
    /// Joins (or starts) the layer's fetch and waits for the upstream's answer. On <see cref="LayerStartOutcome.Streaming"/>
    /// the fetch is returned held for the caller, who releases it once the response is sent.
    /// </summary>
    public async Task<(LayerStart Start, LayerFetch? Fetch)> OpenAsync(ImageId id, CancellationToken ct)
    {
        var fetch = Join(id);
        try
        {
            var start = await fetch.Started.WaitAsync(ct);
            if (start.Outcome == LayerStartOutcome.Streaming) return (start, fetch);
            fetch.Release();
            return (start with { Failure = start.Failure ?? new UpstreamFailure("The layer could not be fetched, retry later", true, V1Upstream.DefaultRetryAfter) }, null);
        }
        catch
        {
            fetch.Release();
            throw;
        }
    }

    /// <summary>Joins the fetch of <paramref name="id"/>'s layer, starting it if none runs. Release the result when done.</summary>
    private LayerFetch Join(ImageId id)
    {
        while (true)
        {
            if (_fetches.TryGetValue(id.Value, out var running) && running.TryAcquire()) return running;
            var created = new LayerFetch(Path.Combine(Path.GetTempPath(), $"registry-mirror-{id.Value}-{Guid.NewGuid():N}.layer"));
            created.TryAcquire();
            if (!_fetches.TryAdd(id.Value, created)) continue;
            // Not the request's token: the fetch serves every follower and fills the cache even if its first client leaves.
            _ = Task.Run(() => RunAsync(id, created));
            return created;
        }
    }

    private async Task RunAsync(ImageId id, LayerFetch fetch)
    {
        var stored = false;
        try
        {
            stored = await FetchAsync(id, fetch);
        }
        catch (InvalidDataException e)
        {
            logger.LogWarning("Mirror layer {Image} from {Upstream} not stored: {Error}", id.Value, upstream.RegistryDisplay, e.Message);
            fetch.Start(new LayerStart(LayerStartOutcome.Failed, Failure: upstream.Invalid(UpstreamRole.Registry, $"layer for image {id.Value}")));
        }
        catch (Exception e) when (V1Upstream.IsTransportFailure(e, CancellationToken.None))
        {
            fetch.Start(new LayerStart(LayerStartOutcome.Failed, Failure: upstream.Unreachable(UpstreamRole.Registry, UpstreamPaths.ImageLayer(id), e)));
        }
        catch (Exception e)
        {
            // No request pipeline above this background task: its followers must hear of any failure (storage down
            // included), and the error middleware never sees it, so it is logged here.
            logger.LogError(e, "Mirror layer {Image} failed", id.Value);
            fetch.Start(new LayerStart(LayerStartOutcome.Failed, Failure: new UpstreamFailure("The layer could not be stored, retry later", true, V1Upstream.DefaultRetryAfter)));
        }
        finally
        {
            _fetches.TryRemove(new KeyValuePair<string, LayerFetch>(id.Value, fetch));
            fetch.Finish(stored);
            fetch.Release();
        }
    }

    private async Task<bool> FetchAsync(ImageId id, LayerFetch fetch)
    {
        var ct = CancellationToken.None;
        gc.TouchImage(id.Value);
        var json = await storage.GetContentAsync(StoragePaths.ImageJson(id), ct);
        var checksums = ChecksumFile.Parse(await storage.GetContentAsync(StoragePaths.ImageChecksum(id), ct));
        if (json is null)
        {
            var image = await images.FetchAsync(id, ct);
            if (image.Value is null)
            {
                fetch.Start(new LayerStart(image.NotFound ? LayerStartOutcome.NotFound : LayerStartOutcome.Failed, Failure: image.Failure));
                return false;
            }
            (json, checksums) = (image.Value.Json, image.Value.Checksums);
        }

        var open = await upstream.OpenAsync(UpstreamPaths.ImageLayer(id), ct);
        if (open.Value is null)
        {
            fetch.Start(new LayerStart(open.NotFound ? LayerStartOutcome.NotFound : LayerStartOutcome.Failed, Failure: open.Failure));
            return false;
        }

        using var response = open.Value;
        var length = response.Content.Headers.ContentLength;
        // Synchronous writes of a chunk to the page cache cost less than the thread-pool hop of an "async" file write on Linux.
        await using var spool = new FileStream(fetch.SpoolPath, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: false);
        fetch.Start(new LayerStart(LayerStartOutcome.Streaming, length));

        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(json);
        hash.AppendData("\n"u8);
        var expected = checksums.Where(c => c.StartsWith("sha256:", StringComparison.Ordinal)).ToArray();
        await using var verified = new VerifyingTee(new HashingReadStream(body, hash), spool, fetch, length, () =>
        {
            var actual = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
            return expected.Length == 0 || expected.Contains(actual, StringComparer.Ordinal) ? (true, actual) : (false, actual);
        });
        await storage.WriteStreamAsync(StoragePaths.ImageLayer(id), verified, ct);
        if (checksums.Count == 0 && verified.Checksum is { } computed)
            await storage.PutContentAsync(StoragePaths.ImageChecksum(id), ChecksumFile.Write(computed), ct);
        return true;
    }

    /// <summary>
    /// Reads the upstream body for the storage driver, copies each chunk to the spool for the followers, gives up after
    /// <see cref="V1Upstream.AnswerTimeout"/> without a byte, and at the end checks length and checksum: throwing there
    /// makes the driver discard what it wrote.
    /// </summary>
    private sealed class VerifyingTee(Stream inner, FileStream spool, LayerFetch fetch, long? length, Func<(bool Ok, string Checksum)> verify) : ReadOnlyStream
    {
        // One timer, re-armed before every read: the fetch runs on CancellationToken.None, so only a stall cancels it.
        private readonly CancellationTokenSource _idle = new();
        private long _read;

        public string? Checksum { get; private set; }

        public override int Read(Span<byte> buffer) => throw new NotSupportedException("The mirror reads layers asynchronously.");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _idle.CancelAfter(V1Upstream.AnswerTimeout);
            var n = await inner.ReadAsync(buffer, _idle.Token);
            if (n == 0)
            {
                if (Checksum is null) Verify();
                return 0;
            }
            spool.Write(buffer.Span[..n]);
            _read += n;
            fetch.Advance(n);
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _idle.Dispose();
            base.Dispose(disposing);
        }

        private void Verify()
        {
            if (length is { } expected && _read != expected)
                throw new InvalidDataException($"the upstream sent {_read} bytes of {expected}");
            var (ok, actual) = verify();
            if (!ok) throw new InvalidDataException($"checksum mismatch: the layer hashes to {actual}");
            Checksum = actual;
            fetch.MarkVerified();
        }
    }
}
