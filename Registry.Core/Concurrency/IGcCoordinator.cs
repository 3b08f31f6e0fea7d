using Registry.Core.Distribution;

namespace Registry.Core.Concurrency;

/// <summary>
/// Lets garbage collection run while the registry serves pushes (docs/garbage-collection.md, 'Guarantees' G2, G3):
/// a shared side for writers, an exclusive side for the sweep, and the set of ids and digests touched while a
/// collection runs. <see cref="GcCoordinator"/> documents the protocol and the lock order and implements it in one
/// process (the default); a cluster backend (PostgreSQL) implements it across every instance on one storage.
/// </summary>
public interface IGcCoordinator
{
    /// <summary>True while a collection (mark and sweep) runs in this process.</summary>
    bool IsCollecting { get; }

    /// <summary>The shared side: hold the result (dispose it) around a check-then-write.</summary>
    ValueTask<IAsyncDisposable> EnterWriteAsync(CancellationToken ct);

    /// <summary>The exclusive side: waits until no writer is inside and keeps new ones out until disposed (one sweep batch).</summary>
    Task<IAsyncDisposable> EnterSweepAsync(CancellationToken ct);

    /// <summary>
    /// Starts recording touches once the writes in flight are done; null when a collection already runs in this
    /// process. Dispose the result when the sweep is over.
    /// </summary>
    Task<IAsyncDisposable?> BeginCollectionAsync(CancellationToken ct);

    /// <summary>Records V1 image ids a writer or reader relies on (an image, its ancestry); no-op when no collection runs.</summary>
    void TouchImages(IEnumerable<string> imageIds);

    /// <summary>Records v2 digests (a committed or linked blob, a manifest and its references); no-op when no collection runs.</summary>
    void TouchDigests(IEnumerable<Digest> digests);

    /// <summary>Whether the running collection must keep the image; read by the sweep inside the exclusive side.</summary>
    bool IsImageTouched(string imageId);

    /// <summary>Whether the running collection must keep the digest; read by the sweep inside the exclusive side.</summary>
    bool IsDigestTouched(Digest digest);

    /// <summary>Records one V1 image id.</summary>
    void TouchImage(string imageId) => TouchImages([imageId]);

    /// <summary>Records one v2 digest.</summary>
    void TouchDigest(Digest digest) => TouchDigests([digest]);
}
