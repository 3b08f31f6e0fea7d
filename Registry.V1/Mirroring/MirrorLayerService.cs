using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using Registry.Core.Concurrency;
using Registry.Core.Http;
using Registry.Core.IO;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.V1.Images;

namespace Registry.V1.Mirroring;

public enum LayerStartOutcome { Streaming, NotFound, Failed }

/// <summary>How a layer fetch began: streaming (length known or not), not on the upstream, or failed before a byte.</summary>
public sealed record LayerStart(LayerStartOutcome Outcome, long? Length = null, UpstreamFailure? Failure = null);

/// <summary>
/// Layers on a local miss (docs/configuration.md, 'V1 mirroring'): one upstream GET per layer however many clients ask
/// at once (they all follow the same <see cref="SharedDownload"/>), streamed to them while it is written to storage. The
/// layer is verified on the way (its length, and <c>sha256(json ‖ "\n" ‖ layer)</c> against the upstream's
/// <c>X-Docker-Checksum-Payload</c> when it sent one) and published by the storage driver's atomic write only when
/// both hold; a cut, a stall or a mismatch fails the write, so storage never holds half a layer.
/// </summary>
public sealed class MirrorLayerService(
    IStorageDriver storage, V1Upstream upstream, MirrorImageService images, IGcCoordinator gc, ILogger<MirrorLayerService> logger)
{
    private readonly ConcurrentDictionary<string, SharedDownload> _fetches = new(StringComparer.Ordinal);

    /// <summary>True when <c>mirroring.source</c> is set.</summary>
    public bool Enabled => upstream.Enabled;

    /// <summary>
    /// Joins (or starts) the layer's fetch and waits for the upstream's answer. On <see cref="LayerStartOutcome.Streaming"/>
    /// the download is returned joined for the caller, who leaves it once the response is sent.
    /// </summary>
    public async Task<(LayerStart Start, SharedDownload? Fetch)> OpenAsync(ImageId id, CancellationToken ct)
    {
        var fetch = Join(id);
        try
        {
            var failure = await fetch.Started.WaitAsync(ct);
            if (fetch.NotFound)
            {
                fetch.Leave();
                return (new LayerStart(LayerStartOutcome.NotFound), null);
            }
            if (failure is null) return (new LayerStart(LayerStartOutcome.Streaming, fetch.Length), fetch);
            fetch.Leave();
            return (new LayerStart(LayerStartOutcome.Failed, Failure: failure), null);
        }
        catch
        {
            fetch.Leave();
            throw;
        }
    }

    /// <summary>Joins the download of <paramref name="id"/>'s layer, starting it if none runs. Leave the result when done.</summary>
    private SharedDownload Join(ImageId id)
    {
        while (true)
        {
            if (_fetches.TryGetValue(id.Value, out var running) && running.TryJoin()) return running;
            var created = new SharedDownload($"layer {id.Value}");
            created.TryJoin();
            if (!_fetches.TryAdd(id.Value, created)) continue;
            // Not the request's token: the fetch serves every follower and fills the cache even if its first client leaves.
            _ = Task.Run(() => RunAsync(id, created));
            return created;
        }
    }

    private async Task RunAsync(ImageId id, SharedDownload fetch)
    {
        var spool = Path.Combine(Path.GetTempPath(), $"registry-mirror-{id.Value}-{Guid.NewGuid():N}.layer");
        try
        {
            await FetchAsync(id, fetch, spool);
        }
        catch (InvalidDataException e)
        {
            logger.LogWarning("Mirror layer {Image} from {Upstream} not stored: {Error}", id.Value, upstream.RegistryDisplay, e.Message);
            fetch.Refuse(upstream.Invalid(UpstreamRole.Registry, $"layer for image {id.Value}"));
        }
        catch (Exception e) when (V1Upstream.IsTransportFailure(e, CancellationToken.None))
        {
            fetch.Refuse(upstream.Unreachable(UpstreamRole.Registry, UpstreamPaths.ImageLayer(id), e));
        }
        catch (Exception e)
        {
            // No request pipeline above this background task: its followers must hear of any failure (storage down
            // included), and the error middleware never sees it, so it is logged here.
            logger.LogError(e, "Mirror layer {Image} failed", id.Value);
            fetch.Refuse(new UpstreamFailure("The layer could not be stored, retry later", true, V1Upstream.DefaultRetryAfter));
        }
        finally
        {
            _fetches.TryRemove(new KeyValuePair<string, SharedDownload>(id.Value, fetch));
            fetch.Finish(false);
            fetch.Leave();
            try
            {
                File.Delete(spool);
            }
            catch (IOException)
            {
                // Removed with the temp folder later; the readers still following it hold the open handle.
            }
            fetch.Settle();
        }
    }

    private async Task FetchAsync(ImageId id, SharedDownload fetch, string spool)
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
                fetch.Refuse(image.NotFound ? null : image.Failure ?? FetchFailed);
                return;
            }
            (json, checksums) = (image.Value.Json, image.Value.Checksums);
        }

        var open = await upstream.OpenAsync(UpstreamPaths.ImageLayer(id), ct);
        if (open.Value is null)
        {
            fetch.Refuse(open.NotFound ? null : open.Failure ?? FetchFailed);
            return;
        }

        using var response = open.Value;
        var length = response.Content.Headers.ContentLength;
        // The download owns the handle from here on and closes it when its last reader is done.
        var handle = File.OpenHandle(spool, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        fetch.Begin(handle, length);

        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(json);
        hash.AppendData("\n"u8);
        var expected = checksums.Where(c => c.StartsWith("sha256:", StringComparison.Ordinal)).ToArray();
        await using var verified = new VerifyingTee(new HashingReadStream(body, hash), handle, fetch, length, () =>
        {
            var actual = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
            return expected.Length == 0 || expected.Contains(actual, StringComparer.Ordinal) ? (true, actual) : (false, actual);
        });
        await storage.WriteStreamAsync(StoragePaths.ImageLayer(id), verified, ct);
        if (checksums.Count == 0 && verified.Checksum is { } computed)
            await storage.PutContentAsync(StoragePaths.ImageChecksum(id), ChecksumFile.Write(computed), ct);
    }

    /// <summary>Why a layer was not sent when the upstream gave no reason of its own.</summary>
    internal static UpstreamFailure FetchFailed => new("The layer could not be fetched, retry later", true, V1Upstream.DefaultRetryAfter);

    /// <summary>
    /// Reads the upstream body for the storage driver, copies each chunk to the spool for the followers, gives up after
    /// <see cref="V1Upstream.AnswerTimeout"/> without a byte, and at the end checks length and checksum: throwing there
    /// makes the driver discard what it wrote.
    /// </summary>
    private sealed class VerifyingTee(Stream inner, SafeFileHandle spool, SharedDownload fetch, long? length, Func<(bool Ok, string Checksum)> verify) : ReadOnlyStream
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
            // A synchronous write to the page cache costs less than the thread-pool hop of an "async" file write on Linux.
            RandomAccess.Write(spool, buffer.Span[..n], _read);
            _read += n;
            fetch.Advance(_read);
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
            fetch.Finish(true);
        }
    }
}
