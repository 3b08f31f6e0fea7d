using System.Globalization;
using System.Text;
using Registry.Core.Concurrency;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.Core.IO;
using Registry.Core.Maintenance;
using Registry.Core.Storage;
using Registry.V2.Manifests;
using Registry.V2.Proxy;

namespace Registry.V2.Maintenance;

/// <summary>
/// The distribution layout's collector (<see cref="DistributionPaths"/>): manifests, layer links, blobs and upload
/// sessions that no tag, kept revision or young link reaches; and on a mirror, cached repositories not pulled within
/// their upstream's retention (docs/garbage-collection.md, 'Mirror retention').
/// </summary>
public sealed partial class V2Collector(ProxySettings? proxy = null) : IGcCollector
{
    public Task CollectAsync(GcRun run, CancellationToken ct) => new Pass(run, proxy).CollectAsync(ct);

    /// <summary>One run's v2 work: the scan, the mark set, the manifest cache and the sweep.</summary>
    private sealed partial class Pass(GcRun run, ProxySettings? proxy)
    {
        private readonly IStorageDriver _storage = run.Storage;
        private readonly IGcCoordinator _coordinator = run.Coordinator;

        private bool DryRun => run.DryRun;

        private bool IsYoung(DateTimeOffset? modified) => run.IsYoung(modified);

        // The largest manifest a PUT accepts; a "revision" larger than this is not parsed (its references stay unmarked
        // only if nothing else reaches them, exactly as an unparseable manifest).
        private const long MaxManifestBytes = ManifestStore.MaxManifestBytes;

        /// <summary>
        /// A revision or layer link as the scan found it. The scan holds one per link of every repository until marking
        /// ends, so it is kept small: the directory is derived (a parsed digest names its directory exactly), and
        /// <paramref name="Target"/> is the same object as <paramref name="Digest"/> when they are equal (the common case).
        /// </summary>
        /// <param name="Layer">A <c>_layers</c> link; otherwise a manifest revision.</param>
        /// <param name="Digest">The digest the repository knows it by (the link's directory).</param>
        /// <param name="Target">The link's content: where the bytes live (may differ in algorithm, docs/storage-layout.md, 'V2 file formats').</param>
        /// <param name="Bytes">Every object's bytes under <see cref="Dir"/> at the scan: a link is its digest, so a link still the same when the sweep re-reads it has the same size.</param>
        private sealed record V2Link(string Repository, bool Layer, Digest Digest, Digest Target, DateTimeOffset? Modified, long Bytes)
        {
            public string Dir => Layer ? DistributionPaths.LayerLinkDir(Repository, Digest) : DistributionPaths.RevisionLinkDir(Repository, Digest);

            public string Path => Layer ? DistributionPaths.LayerLink(Repository, Digest) : DistributionPaths.RevisionLink(Repository, Digest);
        }

        private sealed record V2Repository(
            string Name,
            List<V2Link> Revisions,
            List<(string Tag, Digest? Current)> Tags,
            List<(string Tag, Digest Digest, string Dir, long Bytes)> TagIndex,
            List<V2Link> LayerLinks,
            List<string> Uploads);

        private sealed record V2ManifestQueueItem(V2Link Revision, List<string> TagIndexDirs, long Bytes);

        private readonly Dictionary<Digest, ManifestDocument?> _manifests = [];
        private readonly HexKeySet _expanded = new();

        /// <summary>
        /// v2 (distribution's Garbage Collection doc with docs/garbage-collection.md, 'Guarantees'): roots are every tag's current manifest and every revision (with delete-untagged:
        /// only tagged, young or touched revisions, then untagged ones that ended up marked as index children or whose
        /// subject is kept). Marking follows <see cref="ManifestDocument.References"/> recursively into index children.
        /// Then: unmarked old revisions (delete-untagged), unmarked old layer links, blobs that are neither marked nor
        /// the target of a kept link, and upload sessions past the upload age, in that order (links before data).
        /// </summary>
        public async Task CollectAsync(CancellationToken ct)
        {
            var all = new List<V2Repository>();
            await foreach (var repository in ScanV2RepositoriesAsync(ct))
            {
                all.Add(repository);
                run.Report("scanning v2 repositories", all.Count);
            }
            // An expired cached repository is no root: what only it references is swept with it.
            var expired = new List<V2Repository>();
            foreach (var repository in all)
                if (await IsExpiredAsync(repository, ct)) expired.Add(repository);
            var repositories = expired.Count == 0 ? all : all.Except(expired).ToList();

            var marked = new HexKeySet();
            await MarkManifestsAsync("marking v2 tags", repositories.SelectMany(r => r.Tags).Select(t => t.Current).OfType<Digest>(), marked, ct);

            var untagged = new List<V2Link>();
            var roots = new List<Digest>();
            foreach (var repository in repositories)
            foreach (var revision in repository.Revisions)
            {
                var root = !run.Options.DeleteUntagged || IsYoung(revision.Modified) || IsTouched(revision)
                    || repository.Tags.Any(t => t.Current == revision.Target);
                if (root) roots.Add(revision.Target);
                else untagged.Add(revision);
            }
            await MarkManifestsAsync("marking v2 revisions", roots, marked, ct);
            // Untagged revisions marked as children of a kept index stay; so do referrers of a kept manifest (G6),
            // which may in turn be the subject of others: repeat until nothing changes.
            for (var changed = true; changed;)
            {
                changed = false;
                foreach (var revision in untagged.ToList())
                {
                    if (marked.Contains(revision.Target))
                    {
                        await MarkManifestAsync(revision.Target, marked, ct);
                        untagged.Remove(revision);
                        changed = true;
                    }
                    else if (await ReadManifestAsync(revision.Target, ct) is { Subject.Digest: { } subject } && marked.Contains(subject))
                    {
                        await MarkManifestAsync(revision.Target, marked, ct);
                        untagged.Remove(revision);
                        changed = true;
                    }
                }
            }
            run.MarkedBlobs = marked.Count;

            var byName = repositories.ToDictionary(r => r.Name, StringComparer.Ordinal);
            var manifestQueue = untagged.Select(r =>
            {
                var history = byName[r.Repository].TagIndex.Where(t => t.Digest == r.Digest).ToList();
                return new V2ManifestQueueItem(r, history.Select(t => t.Dir).ToList(), r.Bytes + history.Sum(t => t.Bytes));
            }).ToList();

            var linkKept = new HexKeySet();
            var linkQueue = new List<V2Link>();
            foreach (var link in repositories.SelectMany(r => r.LayerLinks))
            {
                if (marked.Contains(link.Target)) continue;
                if (IsYoung(link.Modified) || IsTouched(link))
                {
                    // A young link is a push under way: its blob stays until a manifest references it or the link ages.
                    linkKept.Add(link.Target);
                    run.Keep();
                }
                else linkQueue.Add(link);
            }

            // Bytes as measured at the walk: a dry run's figure; the sweep measures again before it deletes.
            var blobQueue = new List<(Digest Digest, long Bytes)>();
            var walked = 0;
            await foreach (var (digest, bytes, modified) in BlobsAsync(ct))
            {
                run.Report("checking v2 blobs", ++walked);
                if (marked.Contains(digest) || linkKept.Contains(digest)) continue;
                if (modified is null) continue;
                if (IsYoung(modified) || _coordinator.IsDigestTouched(digest)) run.Keep();
                else blobQueue.Add((digest, bytes));
            }

            var uploadQueue = new List<(string Repository, string Dir)>();
            foreach (var repository in all)
            foreach (var dir in repository.Uploads)
            {
                if (await IsAbandonedUploadAsync(dir, ct)) uploadQueue.Add((repository.Name, dir));
                else run.Keep();
            }

            // The repository a blob is reported under: the first (ordinal) whose queued link or revision named it.
            var owners = manifestQueue.Select(m => m.Revision).Concat(linkQueue).Concat(expired.SelectMany(r => r.Revisions.Concat(r.LayerLinks)))
                .OrderBy(l => l.Repository, StringComparer.Ordinal)
                .GroupBy(l => l.Target)
                .ToDictionary(g => g.Key, g => g.First().Repository);
            string OwnerOf(Digest d) => owners.GetValueOrDefault(d, "");

            if (DryRun)
            {
                foreach (var r in expired) run.Delete(await CachedRepositoryItemAsync(r.Name, ct));
                foreach (var m in manifestQueue) run.Delete(ManifestItem(m));
                foreach (var l in linkQueue) run.Delete(LayerLinkItem(l));
                foreach (var (d, bytes) in blobQueue) run.Delete(new GcItem(GcItemKind.Blob, OwnerOf(d), d.ToString(), DistributionPaths.BlobDir(d), bytes));
                foreach (var (r, dir) in uploadQueue) run.Delete(new GcItem(GcItemKind.Upload, r, DistributionPaths.FileName(dir), dir, await run.TreeSizeAsync(dir, ct)));
                return;
            }

            var protectedDigests = new HexKeySet();
            await run.SweepAsync("cached repositories", expired, r => DeleteCachedRepositoryAsync(r, protectedDigests, ct), ct);
            await run.SweepAsync("manifests", manifestQueue, m => ReadLinkStateAsync(m.Revision, ct), (m, state) => DeleteManifestAsync(m, state, protectedDigests, ct), ct);
            var layerLinkCounts = repositories.ToDictionary(r => r.Name, r => r.LayerLinks.Count, StringComparer.Ordinal);
            await run.SweepBatchesAsync("layer links", linkQueue, batch => ReadLayerLinkStatesAsync(batch, layerLinkCounts, ct),
                (l, state) => DeleteLayerLinkAsync(l, state, protectedDigests), ct);
            await run.SweepBatchesAsync("blobs", blobQueue, batch => ReadBlobDirsAsync(batch.Select(b => b.Digest), ct),
                (b, view) => DeleteBlobAsync(b.Digest, view, OwnerOf(b.Digest), protectedDigests), ct);
            await run.SweepAsync("uploads", uploadQueue, u => DeleteUploadAsync(u.Repository, u.Dir, ct), ct);
        }

        private bool IsTouched(V2Link link) => _coordinator.IsDigestTouched(link.Digest) || _coordinator.IsDigestTouched(link.Target);

        /// <summary>A link's directory as read again under the exclusive side: the link file's time and target, and every object there.</summary>
        private sealed record LinkState(DateTimeOffset? Modified, Digest? Target, IReadOnlyList<string> Objects);

        private async Task<LinkState> ReadLinkStateAsync(V2Link link, CancellationToken ct) =>
            await LinkStateAsync(link, new SubtreeView(await StorageSubtree.ReadAsync(_storage, link.Dir, LinkContentLimit, ExpectedLink, ct)), ct);

        private async Task<LinkState> LinkStateAsync(V2Link link, SubtreeView view, CancellationToken ct) =>
            new(view.Object(link.Path)?.Modified, await ReadLinkAsync(view, link.Path, ct), view.ObjectsBelow(link.Dir).ToList());

        /// <summary>
        /// A batch of layer links read again, a state per link, in order. On S3 a repository's <c>_layers</c> is read once
        /// for its links in the batch when they are at least a quarter of its links (the queue comes in repository
        /// order; a repository whose manifests went usually loses all its links), else each link's directory.
        /// </summary>
        private async Task<IReadOnlyList<LinkState>> ReadLayerLinkStatesAsync(IReadOnlyList<V2Link> batch, Dictionary<string, int> linkCounts, CancellationToken ct)
        {
            var queued = batch.CountBy(l => l.Repository).ToDictionary(StringComparer.Ordinal);
            var reads = batch.Select(l => run.ReadsAreRoundTrips && 4 * queued[l.Repository] >= linkCounts[l.Repository] ? DistributionPaths.LayersDir(l.Repository) : l.Dir).ToList();
            var views = await ReadDirsOnceAsync(reads, LinkContentLimit, ExpectedLink, ct);
            var states = new List<LinkState>(batch.Count);
            for (var i = 0; i < batch.Count; i++) states.Add(await LinkStateAsync(batch[i], views[i], ct));
            return states;
        }

        /// <summary>
        /// The blobs' directories read again, a view per blob, in order. On a store that streams listings (S3) each prefix
        /// directory (<c>blobs/&lt;alg&gt;/&lt;xx&gt;</c>) is read once: the queue comes in prefix order, so a batch's
        /// blobs share a few of them. On files each blob's own directory is read: a prefix holds the kept blobs too, whose
        /// entries would each cost a <c>stat</c> (at 100k blobs that made the real run half again as slow).
        /// </summary>
        private Task<IReadOnlyList<SubtreeView>> ReadBlobDirsAsync(IEnumerable<Digest> digests, CancellationToken ct)
        {
            var dirs = digests.Select(DistributionPaths.BlobDir).ToList();
            return ReadDirsOnceAsync(run.ReadsAreRoundTrips ? dirs.Select(dir => dir[..dir.LastIndexOf('/')]).ToList() : dirs, -1, null, ct);
        }

        /// <summary>A view per directory of <paramref name="reads"/>, in order, each distinct directory read once, a few at once.</summary>
        private async Task<IReadOnlyList<SubtreeView>> ReadDirsOnceAsync(List<string> reads, int contentLimit, ExpectedContent? expected, CancellationToken ct)
        {
            var views = new Dictionary<string, SubtreeView>(StringComparer.Ordinal);
            var distinct = reads.Distinct(StringComparer.Ordinal);
            await foreach (var (dir, view) in ReadAhead.InOrderAsync(
                               distinct, async d => (d, new SubtreeView(await StorageSubtree.ReadAsync(_storage, d, contentLimit, expected, ct))), ct, run.ReadsInFlight))
                views[dir] = view;
            return reads.Select(d => views[d]).ToList();
        }

        /// <summary>Whether a link read again under the exclusive side still goes: false when it changed, vanished, or is young or touched now.</summary>
        private bool StillCollectable(V2Link link, LinkState state, HexKeySet protectedDigests) =>
            state.Modified is not null
            && !IsYoung(state.Modified)
            && !IsTouched(link)
            && !protectedDigests.Contains(link.Target)
            && state.Target == link.Target;

        /// <summary>
        /// A cached repository (it has the mirror's upstream record; a push removes that record) whose last pull is older
        /// than its upstream's retention, counted back from T0, with no young or touched link (a pull or push under way).
        /// </summary>
        private async Task<bool> IsExpiredAsync(V2Repository repository, CancellationToken ct)
        {
            var name = repository.Name;
            if (proxy?.Resolve(name) is not { } resolved || resolved.Upstream.Retention is not { } retention) return false;
            if (!await _storage.ExistsAsync(DistributionPaths.ProxyUpstream(name), ct)) return false;
            if (await Mirrors.LastPullAsync(_storage, name, ct) is not { } lastPull || lastPull >= run.StartedAt - retention) return false;
            if (repository.Revisions.Concat(repository.LayerLinks).Any(IsTouched)) return false;
            return !IsYoung(await run.TreeModifiedAsync(DistributionPaths.ManifestsDir(name), ct))
                && !IsYoung(await run.TreeModifiedAsync(DistributionPaths.LayersDir(name), ct));
        }

        /// <summary>
        /// Re-checks the expiry under the exclusive side, then deletes the manifests (revisions and tags), the layer links
        /// and last the mirror records, so a crash in between leaves a cached repository, never one that looks pushed.
        /// Upload sessions stay for upload purging. A repository kept after all keeps everything it references.
        /// </summary>
        private async Task DeleteCachedRepositoryAsync(V2Repository repository, HexKeySet protectedDigests, CancellationToken ct)
        {
            if (!await IsExpiredAsync(repository, ct))
            {
                run.Keep();
                foreach (var revision in repository.Revisions) await MarkManifestAsync(revision.Target, protectedDigests, ct);
                foreach (var link in repository.LayerLinks) protectedDigests.Add(link.Target);
                return;
            }
            var item = await CachedRepositoryItemAsync(repository.Name, ct);
            await run.DeleteInOrderAsync(DistributionPaths.ManifestsDir(repository.Name), DistributionPaths.LayersDir(repository.Name), DistributionPaths.ProxyDir(repository.Name));
            run.Delete(item);
            run.ChangedV2Repositories.Add(repository.Name);
        }

        private async Task<GcItem> CachedRepositoryItemAsync(string name, CancellationToken ct)
        {
            long bytes = 0;
            foreach (var dir in new[] { DistributionPaths.ManifestsDir(name), DistributionPaths.LayersDir(name), DistributionPaths.ProxyDir(name) })
                bytes += await run.TreeSizeAsync(dir, ct);
            return new GcItem(GcItemKind.CachedRepository, name, name, DistributionPaths.RepositoryDir(name), bytes);
        }

        private async Task DeleteManifestAsync(V2ManifestQueueItem item, LinkState state, HexKeySet protectedDigests, CancellationToken ct)
        {
            var revision = item.Revision;
            if (!StillCollectable(revision, state, protectedDigests))
            {
                // Kept after all: so are its data and everything it references.
                run.Keep();
                protectedDigests.Add(revision.Target);
                if (await ReadManifestAsync(revision.Target, ct) is { } doc) protectedDigests.UnionWith(doc.References());
                return;
            }
            var result = ManifestItem(item);
            // Tag history first, then the revision: a crash in between leaves a revision that the next run collects.
            await run.DeleteInOrderAsync([.. item.TagIndexDirs.Select(d => new GcDeleteStep(d)), new GcDeleteStep(revision.Dir, state.Objects)]);
            run.Delete(result);
            run.ChangedV2Repositories.Add(revision.Repository);
        }

        private static GcItem ManifestItem(V2ManifestQueueItem item) =>
            new(GcItemKind.Manifest, item.Revision.Repository, item.Revision.Digest.ToString(), item.Revision.Dir, item.Bytes);

        private static GcItem LayerLinkItem(V2Link link) => new(GcItemKind.LayerLink, link.Repository, link.Digest.ToString(), link.Dir, link.Bytes);

        private async Task DeleteLayerLinkAsync(V2Link link, LinkState state, HexKeySet protectedDigests)
        {
            if (!StillCollectable(link, state, protectedDigests))
            {
                run.Keep();
                protectedDigests.Add(link.Target);
                return;
            }
            await run.DeleteInOrderAsync(new GcDeleteStep(link.Dir, state.Objects));
            // No re-sync: search lists a repository by its tags and _catalog by its _manifests; a layer link is neither.
            run.Delete(LayerLinkItem(link));
        }

        /// <summary>Under the exclusive side, with the blob's directory as read again there.</summary>
        private async Task DeleteBlobAsync(Digest digest, SubtreeView view, string owner, HexKeySet protectedDigests)
        {
            var dir = DistributionPaths.BlobDir(digest);
            var (size, modified) = view.Measure(dir);
            if (modified is null) return;
            if (protectedDigests.Contains(digest) || _coordinator.IsDigestTouched(digest) || IsYoung(modified))
            {
                run.Keep();
                return;
            }
            await run.DeleteInOrderAsync(new GcDeleteStep(dir, view.ObjectsBelow(dir).ToList()));
            run.Delete(new GcItem(GcItemKind.Blob, owner, digest.ToString(), dir, size));
        }

        private async Task DeleteUploadAsync(string repository, string dir, CancellationToken ct)
        {
            if (!await IsAbandonedUploadAsync(dir, ct))
            {
                run.Keep();
                return;
            }
            var size = await run.TreeSizeAsync(dir, ct);
            await run.DeleteInOrderAsync(dir);
            run.Delete(new GcItem(GcItemKind.Upload, repository, DistributionPaths.FileName(dir), dir, size));
        }

        /// <summary>
        /// docs/garbage-collection.md, 'Upload purging': <c>startedat</c> older than the upload age (missing or unreadable counts as old), and no file of
        /// the session written within it either (a slow upload still receiving chunks stays).
        /// </summary>
        private async Task<bool> IsAbandonedUploadAsync(string dir, CancellationToken ct)
        {
            var modified = await run.TreeModifiedAsync(dir, ct);
            if (modified is null || run.IsYoungUpload(modified)) return false;
            var startedAt = await _storage.GetContentAsync($"{dir}/{DistributionPaths.StartedAtFile}", ct);
            return startedAt is null
                || !DateTimeOffset.TryParse(Encoding.ASCII.GetString(startedAt).Trim(), CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var started)
                || !run.IsYoungUpload(started);
        }

        /// <summary>Marks a manifest's digest and what it references, descending into index children (each manifest once).</summary>
        private async Task MarkManifestAsync(Digest digest, HexKeySet marked, CancellationToken ct)
        {
            marked.Add(digest);
            if (_expanded.Contains(digest)) return;
            await MarkLoadedAsync(digest, _manifests.TryGetValue(digest, out var cached) ? cached : await LoadManifestAsync(digest, ct), marked, ct);
        }

        /// <summary>
        /// <see cref="MarkManifestAsync"/> of each digest, the manifests not yet expanded read a few at once
        /// (<see cref="GcRun.ReadsInFlight"/>) and marked in order as they arrive: on S3 each read is a round trip, and one
        /// after the other they were most of a dry run's v2 mark (993 manifests at 10k blobs). Index children are read as
        /// their index is marked.
        /// </summary>
        private async Task MarkManifestsAsync(string phase, IEnumerable<Digest> digests, HexKeySet marked, CancellationToken ct)
        {
            var done = 0;
            // Read ahead of the marking: a digest expanded meanwhile (an index child queued as a root too) is read once more, not expanded twice.
            var unread = digests.Distinct().Where(d => !_expanded.Contains(d) && !_manifests.ContainsKey(d));
            await foreach (var (digest, doc) in ReadAhead.InOrderAsync(unread, async d => (d, await LoadManifestAsync(d, ct)), ct, run.ReadsInFlight))
            {
                await MarkLoadedAsync(digest, doc, marked, ct);
                run.Report(phase, ++done);
            }
            // Marks every digest; expands those already read (kept for the untagged revisions' loop).
            foreach (var digest in digests) await MarkManifestAsync(digest, marked, ct);
        }

        /// <summary>Expands a read manifest (null: missing or no manifest): its references are marked and its index children marked in turn.</summary>
        private async Task MarkLoadedAsync(Digest digest, ManifestDocument? doc, HexKeySet marked, CancellationToken ct)
        {
            // Each manifest is expanded once, so it is read without keeping it (the cache holds only what the untagged
            // revisions' loop reads again).
            if (!_expanded.Add(digest) || doc is null) return;
            foreach (var reference in doc.References()) marked.Add(reference);
            foreach (var child in doc.Manifests)
                if (child.Digest is { } d) await MarkManifestAsync(d, marked, ct);
        }

        private async Task<ManifestDocument?> ReadManifestAsync(Digest digest, CancellationToken ct)
        {
            if (_manifests.TryGetValue(digest, out var cached)) return cached;
            var doc = await LoadManifestAsync(digest, ct);
            _manifests[digest] = doc;
            return doc;
        }

        /// <summary>
        /// The manifest at a digest, from one read that stops past <see cref="MaxManifestBytes"/> (asking the size first
        /// was a second round trip per manifest on S3); null when it is missing, too big or no manifest.
        /// </summary>
        private async Task<ManifestDocument?> LoadManifestAsync(Digest digest, CancellationToken ct)
        {
            await using var stream = await _storage.OpenReadAsync(DistributionPaths.BlobData(digest), 0, ct);
            return stream is not null && await CappedRead.ReadAsync(stream, MaxManifestBytes, ct) is { } bytes ? ManifestDocument.TryParse(bytes) : null;
        }
    }
}

