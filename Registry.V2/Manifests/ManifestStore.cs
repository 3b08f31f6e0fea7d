using Registry.Core.Concurrency;
using Registry.Core.Distribution;
using Registry.Core.Storage;
using Registry.Index.Search;

namespace Registry.V2.Manifests;

/// <summary>A manifest as stored: the digest it was asked for, its media type (derived from the bytes) and the exact bytes.</summary>
public sealed record StoredManifest(Digest Digest, string MediaType, byte[] Content);

/// <summary>Why a manifest PUT was refused (Docker Registry HTTP API V2, 'Pushing an Image Manifest'); the HTTP edge maps each kind to an error code.</summary>
public enum ManifestProblemKind
{
    /// <summary>Unparsable, wrong type, wrong schemaVersion, fields of the other kind, bad foreign-layer URLs.</summary>
    Invalid,

    /// <summary>A schema 1 manifest (Docker Registry HTTP API V2, 'Pushing an Image Manifest').</summary>
    Schema1,

    /// <summary>The tag in the path or a <c>?tag=</c> does not match the tag grammar.</summary>
    TagInvalid,

    /// <summary>The path digest is malformed or does not match the bytes, or a descriptor digest is malformed.</summary>
    DigestInvalid,

    /// <summary>A referenced blob (or index child) is not linked in the repository.</summary>
    BlobUnknown,
}

/// <summary>One reason a manifest PUT was refused; <see cref="Detail"/> is the text for the envelope's <c>detail</c>.</summary>
public sealed record ManifestProblem(ManifestProblemKind Kind, string Detail);

/// <summary>The outcome of <see cref="ManifestStore.PutAsync"/>: the stored digest and media type, or every problem found.</summary>
public sealed record PutManifestResult(Digest? Digest, IReadOnlyList<ManifestProblem> Problems, IReadOnlyList<string> Tags, Digest? Subject, string MediaType = "")
{
    public bool Succeeded => Digest is not null;

    public static PutManifestResult Fail(ManifestProblemKind kind, string detail) => new(null, [new ManifestProblem(kind, detail)], [], null);
}

/// <summary>
/// Manifests, revisions and tags of repositories in the distribution layout (OCI distribution-spec v1.1, 'Pull' and 'Push', docs/storage-layout.md, 'V2 tree'): reading
/// by tag or digest, validating and storing a pushed manifest byte for byte, deleting revisions and tags.
/// Every write of a repository link goes through <see cref="WriteLinkAsync"/>, every manifest blob through
/// <see cref="CommitBlobAsync"/> and every unlink through <see cref="RemoveRevisionAsync"/> /
/// <see cref="RemoveTagAsync"/>, so that garbage collection can hook into one place each.
/// Writes of one repository are serialized by a per-repository lock (<see cref="LockKey"/>). A PUT checks its
/// references and writes data and links under the garbage collector's shared side (<see cref="GcCoordinator"/>,
/// docs/garbage-collection.md, 'Guarantees' G3), touching the manifest and everything it references.
/// </summary>
public sealed class ManifestStore(
    IStorageDriver storage, IKeyedLock locks, RepositoryCatalog catalog, IGcCoordinator gc, ManifestReadCache reads, LookupKeepAlive keepAlive)
{
    /// <summary>Largest manifest body a PUT accepts (Docker Registry HTTP API V2, 'Pushing an Image Manifest').</summary>
    public const int MaxManifestBytes = 4 * 1024 * 1024;

    public const string SchemaOneDetail = "schema 1 manifests are not supported; push with a client that produces schema 2 or OCI manifests";

    private const string DockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    private const string OciNonDistributablePrefix = "application/vnd.oci.image.layer.nondistributable.v1.tar";

    /// <summary>The <see cref="KeyedLock"/> key under which manifest and tag writes of a repository are serialized.</summary>
    public static string LockKey(string name) => "v2-manifests:" + name;

    /// <summary>The manifest a tag points to; null for an unknown tag or a dangling one (revision or data missing).</summary>
    public async Task<StoredManifest?> GetByTagAsync(string name, string tag, CancellationToken ct)
    {
        var digest = await reads.ReadLinkAsync(DistributionPaths.TagCurrentLink(name, tag), ct);
        return digest is null ? null : await GetByDigestAsync(name, digest, ct);
    }

    /// <summary>
    /// The revision <paramref name="digest"/> of the repository; null when its link or data is missing. The link may
    /// name data under another algorithm (registry:2 stores sha512 pushes under their sha256, docs/storage-layout.md, 'V2 file formats').
    /// </summary>
    public async Task<StoredManifest?> GetByDigestAsync(string name, Digest digest, CancellationToken ct)
    {
        var target = await reads.ReadLinkAsync(DistributionPaths.RevisionLink(name, digest), ct);
        if (target is null) return null;
        return await reads.ReadManifestAsync(DistributionPaths.BlobData(target), ct) is var (document, content)
            ? new StoredManifest(digest, document.MediaType, content)
            : null;
    }

    /// <summary>
    /// A client's existence check (HEAD by digest) found revision <paramref name="digest"/>: its link is made young again
    /// when it is old (docs/garbage-collection.md, 'Guarantees' G8; <see cref="LookupKeepAlive"/>). containerd and buildx
    /// HEAD each manifest of an index they push and skip those the registry has, so a collection with delete-untagged
    /// that starts before the index arrives keeps the untagged revision. False when the revision is gone by now.
    /// </summary>
    public Task<bool> KeepLookedUpAsync(string name, Digest digest, CancellationToken ct)
    {
        var link = DistributionPaths.RevisionLink(name, digest);
        return keepAlive.KeepAsync(link, async c =>
        {
            await using (await locks.AcquireAsync(LockKey(name), c))
            await using (await gc.EnterWriteAsync(c))
            {
                // Read past the cache, under the shared side: a sweep took the link before the data (G4).
                if (await DistributionLinks.ResolveAsync(storage, link, c) is not { } target) return false;
                gc.TouchDigest(digest);
                await WriteLinkAsync(link, target, c);
                return true;
            }
        }, ct);
    }

    /// <summary>
    /// Validates and stores a pushed manifest (Docker Registry HTTP API V2, 'Pushing an Image Manifest'). <paramref name="reference"/> is the path's
    /// tag or digest; <paramref name="extraTags"/> are OCI 1.1 <c>?tag=</c> values, honoured on a by-digest PUT only.
    /// Storing is idempotent: the same bytes again give the same digest and rewrite the same links.
    /// </summary>
    public async Task<PutManifestResult> PutAsync(
        string name, string reference, string? contentType, byte[] body, IReadOnlyList<string> extraTags, CancellationToken ct)
    {
        var (document, invalid) = CheckDocument(contentType, body);
        if (invalid is not null) return new PutManifestResult(null, [invalid], [], null);

        var tags = new List<string>();
        Digest digest;
        if (reference.Contains(':'))
        {
            if (!Digest.TryParse(reference, out var requested))
                return PutManifestResult.Fail(ManifestProblemKind.DigestInvalid, reference);
            digest = Digest.Compute(requested.Algorithm, body);
            if (digest != requested)
                return PutManifestResult.Fail(ManifestProblemKind.DigestInvalid, $"digest {requested} does not match the manifest digest {digest}");
            foreach (var tag in extraTags)
            {
                if (!DistributionName.IsValidTag(tag)) return PutManifestResult.Fail(ManifestProblemKind.TagInvalid, tag);
                if (!tags.Contains(tag, StringComparer.Ordinal)) tags.Add(tag);
            }
        }
        else
        {
            if (!DistributionName.IsValidTag(reference)) return PutManifestResult.Fail(ManifestProblemKind.TagInvalid, reference);
            digest = Digest.Compute("sha256", body);
            tags.Add(reference);
        }

        return await StoreAsync(name, digest, body, document!, tags, checkReferences: true, ct);
    }

    /// <summary>
    /// Stores a manifest the pull-through cache fetched from an upstream (docs/configuration.md, 'Mirror'), the same way
    /// as a push (same links, same search sync), except that its blobs are not required yet: they are fetched when
    /// pulled. <paramref name="digest"/> was verified against the bytes by the caller; <paramref name="tag"/> is
    /// re-pointed when given.
    /// </summary>
    public async Task<PutManifestResult> StoreFetchedAsync(
        string name, Digest digest, string? tag, string? contentType, byte[] body, CancellationToken ct)
    {
        var (document, invalid) = CheckDocument(contentType, body);
        if (invalid is not null) return new PutManifestResult(null, [invalid], [], null);
        return await StoreAsync(name, digest, body, document!, tag is null ? [] : [tag], checkReferences: false, ct);
    }

    private async Task<PutManifestResult> StoreAsync(
        string name, Digest digest, byte[] body, ManifestDocument document, List<string> tags, bool checkReferences, CancellationToken ct)
    {
        await using (await locks.AcquireAsync(LockKey(name), ct))
        await using (await gc.EnterWriteAsync(ct))
        {
            // Touched before the check: a running collection keeps what this manifest is validated against.
            gc.TouchDigests(document.References().Prepend(digest));
            if (checkReferences)
            {
                var problems = await CheckReferencesAsync(name, document, ct);
                if (problems.Count > 0) return new PutManifestResult(null, problems, [], null);
            }

            // Crash safety (docs/storage-layout.md, 'Write order'): data first, then the revision, then per tag the index entry and current/link last.
            await CommitBlobAsync(digest, body, ct);
            await WriteLinkAsync(DistributionPaths.RevisionLink(name, digest), digest, ct);
            foreach (var tag in tags)
            {
                await WriteLinkAsync(DistributionPaths.TagIndexLink(name, tag, digest), digest, ct);
                await WriteLinkAsync(DistributionPaths.TagCurrentLink(name, tag), digest, ct);
            }
        }
        if (tags.Count > 0) await catalog.SyncV2Async(name, tags, ct);
        else await catalog.SyncV2CatalogAsync(name, ct);
        return new PutManifestResult(digest, [], tags, document.Subject?.Digest, document.MediaType);
    }

    /// <summary>
    /// <c>DELETE /manifests/&lt;digest&gt;</c>: removes the revision link, then every tag whose <c>current/link</c> names
    /// it (Docker Registry HTTP API V2, 'Deleting an Image'). Returns the tags removed with it, or null when the revision link
    /// does not exist. Blob data stays until garbage collection.
    /// </summary>
    public async Task<IReadOnlyList<string>?> DeleteManifestAsync(string name, Digest digest, CancellationToken ct)
    {
        var removedTags = new List<string>();
        await using (await locks.AcquireAsync(LockKey(name), ct))
        {
            // The revision goes first: from then on every GET by digest or by one of its tags is 404.
            if (!await RemoveRevisionAsync(name, digest, ct)) return null;
            foreach (var tag in await ListTagNamesAsync(name, ct))
                if (await DistributionLinks.ReadAsync(storage, DistributionPaths.TagCurrentLink(name, tag), ct) == digest
                    && await RemoveTagAsync(name, tag, ct))
                    removedTags.Add(tag);
        }
        if (removedTags.Count > 0) await catalog.SyncV2Async(name, ct);
        return removedTags;
    }

    /// <summary><c>DELETE /manifests/&lt;tag&gt;</c>: removes the tag directory; the revision stays. False for an unknown tag.</summary>
    public async Task<bool> DeleteTagAsync(string name, string tag, CancellationToken ct)
    {
        bool removed;
        await using (await locks.AcquireAsync(LockKey(name), ct))
            removed = await RemoveTagAsync(name, tag, ct);
        if (removed) await catalog.SyncV2Async(name, ct);
        return removed;
    }

    /// <summary>
    /// The repository's tags in ordinal order (OCI distribution-spec v1.1, 'Listing Tags'): the entries of its
    /// <c>_manifests/tags</c> directory that are valid tag names, as distribution lists them (its tag store's
    /// <c>All</c> lists that directory and reads no link), so a tag whose revision was removed behind the server's
    /// back is listed and its GET is 404, as with the Go registry. Null when the directory holds no file.
    /// The listing is cached while the directory's stamp holds (<see cref="ManifestReadCache.ListAsync{T}"/>): adding
    /// or removing a tag directory moves its times, re-pointing a tag does not change its name.
    /// </summary>
    public async Task<IReadOnlyList<string>?> ListTagsAsync(string name, CancellationToken ct)
    {
        var tags = await ListTagNamesAsync(name, ct);
        // Any entry proves the repository; only an empty answer needs the (tree-walking) check.
        if (tags.Length == 0 && !await storage.DirectoryExistsAsync(DistributionPaths.TagsDir(name), ct)) return null;
        return tags;
    }

    /// <summary>
    /// Every manifest revision of the repository that resolves (link and data present), by the digest its
    /// revision directory names, in storage order. Unparsable revisions and stray entries are skipped.
    /// </summary>
    public async IAsyncEnumerable<StoredManifest> ListRevisionsAsync(string name, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var (digest, _) in await DistributionTree.DigestDirectoriesAsync(storage, DistributionPaths.RevisionsDir(name), ct))
            if (await GetByDigestAsync(name, digest, ct) is { } manifest) yield return manifest;
    }

    /// <summary>
    /// The one method that writes a repository link (layer, revision, tag index or tag current link):
    /// the link file holds <paramref name="target"/> as ASCII and appears atomically. Callers hold the garbage
    /// collector's shared side (<see cref="GcCoordinator.EnterWriteAsync"/>) over the check that the target exists
    /// and this write; the target is touched so that a running collection keeps it.
    /// </summary>
    public Task WriteLinkAsync(string linkPath, Digest target, CancellationToken ct)
    {
        gc.TouchDigest(target);
        return DistributionLinks.WriteAsync(storage, linkPath, target, ct);
    }

    /// <summary>
    /// The one method that commits manifest bytes as a blob: <c>blobs/&lt;alg&gt;/&lt;xx&gt;/&lt;hex&gt;/data</c> under
    /// <paramref name="digest"/>, written only when absent (content-addressed, so present data is the same bytes).
    /// Callers hold the garbage collector's shared side, so present data cannot be swept between the check and the links.
    /// </summary>
    public async Task CommitBlobAsync(Digest digest, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        gc.TouchDigest(digest);
        var path = DistributionPaths.BlobData(digest);
        if (!await storage.ExistsAsync(path, ct)) await storage.PutContentAsync(path, content, ct);
    }

    /// <summary>
    /// Unlinks a manifest revision (only its <c>link</c> file: a revision directory without a link is a deleted
    /// manifest, docs/storage-layout.md, 'V2 reading rules'). False when there was no link. Does not touch tags or the search index.
    /// </summary>
    public Task<bool> RemoveRevisionAsync(string name, Digest digest, CancellationToken ct) =>
        storage.DeleteAsync(DistributionPaths.RevisionLink(name, digest), ct);

    /// <summary>Removes a tag's whole directory (current link and index). False when it did not exist. Does not sync search.</summary>
    public Task<bool> RemoveTagAsync(string name, string tag, CancellationToken ct) =>
        storage.DeleteAsync(DistributionPaths.TagDir(name, tag), ct);

    /// <summary>The valid tag names among the entries of the repository's tags directory, sorted ordinally (the cached array: callers never modify it).</summary>
    private async Task<string[]> ListTagNamesAsync(string name, CancellationToken ct) =>
        await reads.ListAsync(DistributionPaths.TagsDir(name), static paths =>
        {
            // Skip anything that is not a tag this server could address (stray files, temp files).
            var tags = paths.Select(DistributionPaths.FileName).Where(DistributionName.IsValidTag).ToArray();
            Array.Sort(tags, StringComparer.Ordinal);
            return tags;
        }, ct);

    /// <summary>Docker Registry HTTP API V2, 'Pushing an Image Manifest': the type from Content-Type (or the body), schema 1, schemaVersion, mediaType agreement, field shape.</summary>
    private static (ManifestDocument? Document, ManifestProblem? Problem) CheckDocument(string? contentType, byte[] body)
    {
        var declared = contentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (declared is ManifestDocument.DockerV1 or ManifestDocument.DockerV1Signed) return (null, Schema1());

        var document = ManifestDocument.TryParse(body);
        if (document is null) return (null, Invalid("manifest is not a JSON object"));
        if (document.SchemaVersion == 1) return (null, Schema1());
        if (document.SchemaVersion != 2) return (null, Invalid($"unsupported schemaVersion {document.SchemaVersion}; expected 2"));

        // Missing, application/json or an unknown Content-Type: trust the body (a deviation from distribution v3).
        var type = declared is ManifestDocument.DockerV2 or ManifestDocument.DockerList or ManifestDocument.OciManifest or ManifestDocument.OciIndex
            ? declared
            : document.MediaType;
        if (document.BodyMediaType is { } bodyType && bodyType != type)
            return (null, Invalid($"mediaType {bodyType} does not match the Content-Type {type}"));
        switch (type)
        {
            case ManifestDocument.DockerV2 or ManifestDocument.DockerList when document.BodyMediaType is null:
                return (null, Invalid($"mediaType is required in a {type} manifest"));
            case ManifestDocument.OciManifest when document.Properties.Contains("manifests"):
                return (null, Invalid("an OCI image manifest must not have a manifests field"));
            case ManifestDocument.OciIndex when document.Properties.Contains("config") || document.Properties.Contains("layers"):
                return (null, Invalid("an OCI image index must not have config or layers fields"));
            case ManifestDocument.DockerV2 or ManifestDocument.OciManifest when document.Config is null:
                return (null, Invalid("an image manifest needs a config descriptor"));
            case ManifestDocument.DockerV2 or ManifestDocument.DockerList or ManifestDocument.OciManifest or ManifestDocument.OciIndex:
                break;
            default:
                return (null, Invalid($"unsupported manifest media type {type}"));
        }
        return (document with { MediaType = type }, null);
    }

    /// <summary>Docker Registry HTTP API V2, 'Pushing an Image Manifest': every reference linked in this repository; all problems, in descriptor order.</summary>
    private async Task<List<ManifestProblem>> CheckReferencesAsync(string name, ManifestDocument document, CancellationToken ct)
    {
        var problems = new List<ManifestProblem>();
        if (document.IsIndex)
        {
            foreach (var child in document.Manifests)
            {
                if (child.Digest is not { } d) problems.Add(new(ManifestProblemKind.DigestInvalid, child.DigestText));
                else if (await DistributionLinks.ResolveAsync(storage, DistributionPaths.RevisionLink(name, d), ct) is null)
                    problems.Add(new(ManifestProblemKind.BlobUnknown, d.ToString()));
            }
            return problems;
        }

        foreach (var descriptor in document.Layers.Prepend(document.Config!))
        {
            if (IsExternalLayer(descriptor, out var urlProblem))
            {
                if (urlProblem is not null) return [urlProblem];
                continue;
            }
            if (descriptor.Digest is not { } d) problems.Add(new(ManifestProblemKind.DigestInvalid, descriptor.DigestText));
            else if (await DistributionLinks.ResolveAsync(storage, DistributionPaths.LayerLink(name, d), ct) is null)
                problems.Add(new(ManifestProblemKind.BlobUnknown, d.ToString()));
        }
        return problems;
    }

    /// <summary>
    /// Foreign Docker layers (which must carry URLs) and OCI non-distributable layers that carry URLs are never
    /// pushed, so they are not looked up; their URLs must be http(s) without a fragment.
    /// </summary>
    private static bool IsExternalLayer(Descriptor layer, out ManifestProblem? problem)
    {
        problem = null;
        var foreign = layer.MediaType == DockerForeignLayer;
        var nonDistributable = layer.MediaType?.StartsWith(OciNonDistributablePrefix, StringComparison.Ordinal) == true && layer.Urls.Count > 0;
        if (!foreign && !nonDistributable) return false;
        if (layer.Urls.Count == 0)
            problem = Invalid($"foreign layer {layer.DigestText} has no urls");
        else if (layer.Urls.FirstOrDefault(u => !IsAllowedUrl(u)) is { } bad)
            problem = Invalid($"layer {layer.DigestText} has an invalid url {bad}");
        return true;
    }

    private static bool IsAllowedUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && !url.Contains('#');

    private static ManifestProblem Invalid(string detail) => new(ManifestProblemKind.Invalid, detail);

    private static ManifestProblem Schema1() => new(ManifestProblemKind.Schema1, SchemaOneDetail);
}
