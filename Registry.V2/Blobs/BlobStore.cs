using Registry.Core.Concurrency;
using Registry.Core.Distribution;
using Registry.Core.Storage;
using Registry.Core.Storage.Caching;

namespace Registry.V2.Blobs;

/// <summary>
/// A blob as a repository serves it: <see cref="Digest"/> is the digest the client named (the layer link's
/// directory), <see cref="Target"/> the digest the link points at, whose <c>data</c> holds the bytes. They differ
/// for the sha512 blobs distribution wrote (a <c>sha512</c> link whose content is <c>sha256:...</c>, docs/storage-layout.md, 'V2 file formats').
/// </summary>
public sealed record BlobInfo(Digest Digest, Digest Target, long Size)
{
    public string DataPath => DistributionPaths.BlobData(Target);
}

/// <summary>
/// Blobs in the distribution layout (docs/storage-layout.md, 'V2 tree'): repository-scoped lookup through layer links, the one writer
/// of layer links (<see cref="LinkAsync"/>) and the one blob commit (<see cref="CommitAsync"/>). Writes follow
/// docs/storage-layout.md, 'Write order': data first, link last, so a crash leaves unreferenced data (garbage) but never a link without data.
/// Link writes check their target under the garbage collector's shared side (<see cref="GcCoordinator"/>, v2 spec
/// docs/garbage-collection.md, 'Guarantees' G3) and touch it, as does a successful lookup (G2: docker skips uploading a blob HEAD said exists).
/// On an object store with <c>blob_cache_path</c> set, the bytes of a blob already pulled once are sent from the local
/// <see cref="LocalBlobCache"/> (filled in the background after that pull), after the same lookup (link, then the stored
/// data's size) that every read makes.
/// </summary>
public sealed class BlobStore(IStorageDriver storage, IGcCoordinator gc, LocalBlobCache cache, LookupKeepAlive keepAlive)
{
    /// <summary>The blob when <paramref name="name"/> links it and the linked data exists (docs/storage-layout.md, 'V2 reading rules'); otherwise null.</summary>
    public async Task<BlobInfo?> StatAsync(string name, Digest digest, CancellationToken ct)
    {
        var target = await DistributionLinks.ReadAsync(storage, DistributionPaths.LayerLink(name, digest), ct);
        if (target is null) return null;
        var size = await storage.SizeAsync(DistributionPaths.BlobData(target), ct);
        if (size is null)
        {
            cache.Forget(target);
            return null;
        }
        gc.TouchDigests([digest, target]);
        return new BlobInfo(digest, target, size.Value);
    }

    /// <summary>
    /// A client's existence check (HEAD) found <paramref name="blob"/>: the layer link it found is made young again when it
    /// is old (docs/garbage-collection.md, 'Guarantees' G8; <see cref="LookupKeepAlive"/>), so that a collection starting
    /// before the manifest that names it arrives keeps the link and its data. False when the blob is gone by now.
    /// </summary>
    public Task<bool> KeepLookedUpAsync(string name, BlobInfo blob, CancellationToken ct)
    {
        var link = DistributionPaths.LayerLink(name, blob.Digest);
        return keepAlive.KeepAsync(link, async c =>
        {
            await using var gcWrite = await gc.EnterWriteAsync(c);
            // Re-checked under the shared side: a sweep between the lookup and here took the link first, then the data (G4).
            if (await DistributionLinks.ResolveAsync(storage, link, c) != blob.Target) return false;
            await LinkAsync(name, blob.Digest, blob.Target, c);
            return true;
        }, ct);
    }

    /// <summary>The blob's bytes from <paramref name="offset"/>, or null when the data vanished since <see cref="StatAsync"/>.</summary>
    public Task<Stream?> OpenReadAsync(BlobInfo blob, long offset, CancellationToken ct) =>
        storage.OpenReadAsync(blob.DataPath, offset, ct);

    /// <summary>
    /// After a pull sent the whole blob: on an object store with a blob cache that lacks it, a background fill reads it
    /// from the store again and keeps it (<see cref="LocalBlobCache.RequestFill"/>).
    /// </summary>
    public void PulledWhole(BlobInfo blob) =>
        cache.RequestFill(blob.Target, blob.Size, ct => OpenReadAsync(blob, 0, ct));

    /// <summary>
    /// A local file with the blob's bytes, to send straight from disk: the data file itself on the file driver, the blob
    /// cache's copy on an object store; otherwise null.
    /// </summary>
    public string? PhysicalPath(BlobInfo blob) =>
        storage.Find<FileSystemStorageDriver>()?.GetPhysicalPath(blob.DataPath) ?? cache.PathOf(blob.Target, blob.Size);

    /// <summary>
    /// Writes <paramref name="name"/>'s layer link for <paramref name="digest"/>, pointing at the data of
    /// <paramref name="target"/>. Every layer link this server writes (upload commit, mount) goes through here;
    /// the caller has made sure the target's data exists, under the collector's shared side held over the check and this write.
    /// </summary>
    public Task LinkAsync(string name, Digest digest, Digest target, CancellationToken ct)
    {
        gc.TouchDigests([digest, target]);
        return DistributionLinks.WriteAsync(storage, DistributionPaths.LayerLink(name, digest), target, ct);
    }

    /// <summary>
    /// Removes <paramref name="name"/>'s layer link (blob DELETE, Docker Registry HTTP API V2, 'Deleting a Layer'); the data stays for garbage
    /// collection and other repositories keep their links. False when the blob was not visible in the repository.
    /// </summary>
    public async Task<bool> UnlinkAsync(string name, Digest digest, CancellationToken ct)
    {
        if (await StatAsync(name, digest, ct) is null) return false;
        await storage.DeleteAsync(DistributionPaths.LayerLink(name, digest), ct);
        return true;
    }

    /// <summary>
    /// Cross-repository mount (Docker Registry HTTP API V2, 'Starting An Upload' and 'Cross Repository Blob Mount'): links the blob into <paramref name="name"/> with the same target
    /// as in <paramref name="from"/>. Null when <paramref name="from"/> does not serve the blob. The caller checks
    /// that the client may pull <paramref name="from"/>.
    /// </summary>
    public async Task<BlobInfo?> MountAsync(string name, Digest digest, string from, CancellationToken ct)
    {
        await using var gcWrite = await gc.EnterWriteAsync(ct);
        var source = await StatAsync(from, digest, ct);
        if (source is null) return null;
        await LinkAsync(name, digest, source.Target, ct);
        return source;
    }

    /// <summary>
    /// Commits an uploaded blob whose bytes were verified to hash to <paramref name="digest"/>: moves the object
    /// at <paramref name="verifiedData"/> to the blob store unless the blob's data already exists (a concurrent or
    /// earlier commit of the same digest: the existing data is kept and the source left for the caller to delete),
    /// then links it into <paramref name="name"/>. Null <paramref name="verifiedData"/> means the empty blob.
    /// Every blob commit goes through here. The blob is stored under its own algorithm (sha512 natively).
    /// </summary>
    public async Task CommitAsync(string name, Digest digest, string? verifiedData, CancellationToken ct)
    {
        var data = DistributionPaths.BlobData(digest);
        // Published outside the collector's shared side: a move is a copy on S3 and must not hold up a sweep (and
        // every writer queued behind it). Fresh data is younger than any running collection's cut-off.
        gc.TouchDigest(digest);
        var published = false;
        if (!await storage.ExistsAsync(data, ct))
        {
            if (verifiedData is null) await storage.PutContentAsync(data, ReadOnlyMemory<byte>.Empty, ct);
            else await storage.MoveAsync(verifiedData, data, ct);
            published = true;
        }
        await using (await gc.EnterWriteAsync(ct))
        {
            // Data that already existed may be old garbage: re-checked and linked under the shared side, so a sweep
            // cannot take it in between. Missing now means a collection took it (a grace window shorter than this
            // upload): fail cleanly, the client uploads again.
            if (!await storage.ExistsAsync(data, ct))
            {
                if (verifiedData is null) await storage.PutContentAsync(data, ReadOnlyMemory<byte>.Empty, ct);
                else if (published) throw new StorageUnavailableException($"blob {digest} was collected before it could be linked; retry the upload");
                else await storage.MoveAsync(verifiedData, data, ct);
            }
            await LinkAsync(name, digest, digest, ct);
        }
    }
}
