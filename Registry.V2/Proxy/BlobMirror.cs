using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Registry.Core.Concurrency;
using Registry.Core.Distribution;
using Registry.Core.Http;
using Registry.Core.Storage;
using Registry.V2.Blobs;

namespace Registry.V2.Proxy;

/// <summary>
/// Blob misses of mirrored repositories (docs/configuration.md, 'Mirror'). One upstream GET per digest at a time
/// (<see cref="BlobFetch"/>, shared by every client asking meanwhile); its bytes go to a temp file in the
/// repository's upload area (<c>_uploads/&lt;uuid&gt;/data</c>, as a push's) while clients read them, are hashed on the
/// way (<see cref="BlobCopy"/>), and the blob is published through <see cref="BlobStore.CommitAsync"/> only when digest and length match.
/// A download that breaks off or does not verify publishes nothing and cuts its clients off.
/// </summary>
public sealed class BlobMirror(
    Mirrors mirrors, BlobStore blobs, IStorageDriver storage, IGcCoordinator gc, IHostApplicationLifetime lifetime, ILogger<BlobMirror> logger)
{
    /// <summary>Longest pause in an upstream body before the download is given up.</summary>
    public static readonly TimeSpan ReadIdleTimeout = TimeSpan.FromSeconds(60);

    private readonly Dictionary<Digest, BlobFetch> _fetches = [];

    /// <summary>A miss in a repository pushed here is a miss: local repositories never go upstream.</summary>
    public Task<bool> IsLocalAsync(string name, CancellationToken ct) => mirrors.IsLocalAsync(name, ct);

    /// <summary>
    /// Whether a blob HEAD may ask the upstream: only in a repository that already holds fetched content. A client
    /// pushing a new repository HEADs each blob before uploading it and needs a plain 404, also while the upstream is
    /// down or refuses the name (Docker Hub answers 401 for names it does not have).
    /// </summary>
    public Task<bool> IsCachedAsync(string name, CancellationToken ct) => mirrors.IsCachedAsync(name, ct);

    /// <summary>HEAD of a miss: the upstream's HEAD, answered with its size; nothing is fetched.</summary>
    public async Task<(long? Size, bool Found, UpstreamFailure? Failure)> HeadAsync(MirroredName mirror, Digest digest, CancellationToken ct)
    {
        try
        {
            using var head = await mirror.Client.SendAsync(HttpMethod.Head, mirror.UpstreamName, $"blobs/{digest}", [], ct);
            if (head.StatusCode == HttpStatusCode.NotFound) return (null, false, null);
            if (!head.IsSuccessStatusCode) return (null, false, mirror.Client.StatusFailure(head));
            return (head.Content.Headers.ContentLength, true, null);
        }
        catch (UpstreamUnavailableException e)
        {
            return (null, false, e.Failure);
        }
    }

    /// <summary>
    /// Data already cached for another repository: linked into this one once the upstream confirms this repository has
    /// the blob (a HEAD), so nothing is downloaded twice and no repository serves what its upstream would not.
    /// </summary>
    public async Task<(BlobInfo? Blob, UpstreamFailure? Failure)> LinkCachedAsync(MirroredName mirror, Digest digest, CancellationToken ct)
    {
        if (!await storage.ExistsAsync(DistributionPaths.BlobData(digest), ct)) return (null, null);
        var (_, found, failure) = await HeadAsync(mirror, digest, ct);
        if (!found) return (null, failure);
        await using (await gc.EnterWriteAsync(ct))
        {
            if (!await storage.ExistsAsync(DistributionPaths.BlobData(digest), ct)) return (null, null);
            await blobs.LinkAsync(mirror.Name, digest, digest, ct);
        }
        return (await blobs.StatAsync(mirror.Name, digest, ct), null);
    }

    /// <summary>
    /// The download of <paramref name="digest"/> this request reads, joined with a share of its temp file (give it back
    /// with <see cref="BlobFetch.Leave"/>); started when none runs. Null when a download just ended: look in storage again.
    /// </summary>
    public BlobFetch? Join(MirroredName mirror, Digest digest)
    {
        BlobFetch fetch;
        var start = false;
        lock (_fetches)
        {
            if (!_fetches.TryGetValue(digest, out fetch!))
            {
                fetch = new BlobFetch(digest);
                _fetches[digest] = fetch;
                start = true;
            }
        }
        if (!fetch.TryJoin()) return null;
        fetch.AddRepository(mirror.Name);
        // Not tied to the request: the blob is cached even when the first client goes away.
        if (start) _ = Task.Run(() => DownloadAsync(mirror, fetch));
        return fetch;
    }

    private async Task DownloadAsync(MirroredName mirror, BlobFetch fetch)
    {
        var stopping = lifetime.ApplicationStopping;
        var digest = fetch.Digest;
        var uuid = Guid.NewGuid().ToString();
        var key = DistributionPaths.UploadData(mirror.Name, uuid);
        var fileDriver = storage.Find<FileSystemStorageDriver>();
        string? tempFile = null;
        var begun = false;
        try
        {
            using var response = await mirror.Client.SendAsync(HttpMethod.Get, mirror.UpstreamName, $"blobs/{digest}", [], stopping);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                fetch.Refuse(null);
                return;
            }
            if (!response.IsSuccessStatusCode)
            {
                fetch.Refuse(mirror.Client.StatusFailure(response));
                return;
            }

            // startedat makes the temp file an upload session that garbage collection leaves alone while it is young
            // (purging also needs every file of it older than the upload age); written beside the body, not before it.
            var startedAt = storage.PutContentAsync(DistributionPaths.UploadStartedAt(mirror.Name, uuid),
                Encoding.ASCII.GetBytes(DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)), stopping);
            // The file driver's upload area is written directly (and the blob later renamed into place); other drivers
            // get a local temp file that is uploaded once verified.
            tempFile = fileDriver?.GetPhysicalPath(key) ?? Path.Combine(Path.GetTempPath(), "registry-mirror-" + uuid);
            Directory.CreateDirectory(Path.GetDirectoryName(tempFile)!);
            var handle = File.OpenHandle(tempFile, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            var length = response.Content.Headers.ContentLength;
            fetch.Begin(handle, length);
            begun = true;

            long written;
            Digest actual;
            await using (var body = await response.Content.ReadAsStreamAsync(stopping))
                (written, actual) = await BlobCopy.CopyAsync(body, handle, fetch, length, ReadIdleTimeout, stopping);
            await startedAt;
            if ((length is { } expected && written != expected) || actual != digest)
            {
                logger.LogWarning("Discarded {Digest} from {Upstream} ({Name}): {Written} bytes hashing to {Actual}{Expected}",
                    digest, mirror.Upstream.Url, mirror.UpstreamName, written, actual, length is null ? "" : $", {length} announced");
                fetch.Finish(false);
                return;
            }
            // The clients have verified bytes; only the published copy needs to be durable.
            fetch.Finish(true);
            RandomAccess.FlushToDisk(handle);

            if (fileDriver is null)
                await using (var verified = new FileStream(tempFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 0, FileOptions.Asynchronous))
                    await storage.WriteStreamAsync(key, verified, stopping);
            await blobs.CommitAsync(mirror.Name, digest, key, stopping);
            foreach (var other in fetch.Repositories.Where(r => r != mirror.Name))
                await using (await gc.EnterWriteAsync(stopping))
                    if (await storage.ExistsAsync(DistributionPaths.BlobData(digest), stopping))
                        await blobs.LinkAsync(other, digest, digest, stopping);
            logger.LogInformation("Cached blob {Digest} ({Bytes} bytes) of {Name} from {Upstream}", digest, written, mirror.Name, mirror.Upstream.Url);
        }
        catch (UpstreamUnavailableException e)
        {
            logger.LogWarning("Blob {Digest} of {Name}: {Problem}", digest, mirror.Name, e.Message);
            if (begun) fetch.Finish(false);
            else fetch.Refuse(e.Failure);
        }
        catch (Exception e)
        {
            // Whatever broke (the upstream body, the temp file, storage), nothing is published and clients are cut off.
            logger.LogWarning(e, "Blob {Digest} of {Name} from {Upstream} was not cached", digest, mirror.Name, mirror.Upstream.Url);
            if (begun && !fetch.Complete) fetch.Finish(false);
            else if (!begun) fetch.Refuse(new UpstreamFailure($"upstream registry {mirror.Upstream.Url} broke off blob {digest}: {e.Message}", true));
        }
        finally
        {
            lock (_fetches) _fetches.Remove(digest);
            fetch.Leave();
            await CleanUpAsync(mirror.Name, uuid, fileDriver is null ? tempFile : null);
            fetch.Settle();
        }
    }

    private async Task CleanUpAsync(string name, string uuid, string? localTemp)
    {
        try
        {
            await storage.DeleteAsync(DistributionPaths.UploadDir(name, uuid), CancellationToken.None);
            if (localTemp is not null) File.Delete(localTemp);
        }
        catch (Exception e) when (e is IOException or StorageUnavailableException or UnauthorizedAccessException)
        {
            // Left for upload purging (docs/garbage-collection.md, 'Upload purging').
            logger.LogWarning("Temp files of a blob download in {Name} were left for garbage collection: {Problem}", name, e.Message);
        }
    }
}
