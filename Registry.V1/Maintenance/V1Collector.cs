using Registry.Core.Concurrency;
using Registry.Core.Maintenance;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Repositories;

namespace Registry.V1.Maintenance;

/// <summary>
/// The collector of the V1 layout (<see cref="StoragePaths"/>, walked by <see cref="StorageTree"/>, ancestry read by
/// <see cref="AncestryReader"/>): images and stale index lists. A repository whose index list goes also leaves the
/// image membership used by access checks.
/// </summary>
public sealed class V1Collector(IRepositoryImages membership) : IGcCollector
{
    public Task CollectAsync(GcRun run, CancellationToken ct) => new Pass(run, membership).CollectAsync(ct);

    /// <summary>One run's V1 work: the scan, the mark set and the sweep.</summary>
    private sealed class Pass(GcRun run, IRepositoryImages membership)
    {
        private readonly IStorageDriver _storage = run.Storage;
        private readonly IGcCoordinator _coordinator = run.Coordinator;

        private bool DryRun => run.DryRun;

        private bool IsYoung(DateTimeOffset? modified) => run.IsYoung(modified);

        /// <param name="Name">The logical "ns/repo" when the directory is one the API can address, else the raw "ns/repo" of the disk.</param>
        /// <param name="TagAncestries">The ancestry of each tag's image (read with the repository, a few repositories at once).</param>
        private sealed record V1Repository(
            string Path, string Name, bool Addressable, List<string> TagImages, List<IReadOnlyList<string>> TagAncestries, List<string> ListImages, DateTimeOffset? ListTime)
        {
            public string ListPath => $"{Path}/{StoragePaths.IndexImagesFile}";
        }

        /// <param name="Depth">The length of its ancestry: the sweep's order (a dry run reads no ancestry and leaves it 0).</param>
        /// <param name="Bytes">Measured at the walk (a dry run's figure; the sweep measures again before it deletes).</param>
        private sealed record V1Candidate(ImageId Id, int Depth, long Bytes)
        {
            public string Dir => StoragePaths.ImageDir(Id);
        }

        /// <summary>
        /// V1 (docs/storage-layout.md, 'V1 tree'): roots are the images of every tag of every repository and the images listed in a young
        /// <c>_index_images</c> (a push under way); an image is reachable through its ancestry. Unreached complete images
        /// older than the grace window and unreached unfinished ones older than the upload age go, children first.
        /// A repository without tags whose list is older than the grace window loses the list (its push is over), so
        /// search no longer lists it.
        /// </summary>
        public async Task CollectAsync(CancellationToken ct)
        {
            // Each repository is marked as it is scanned and then forgotten, but for a stale list (to sweep) and the
            // owner of each listed image (to report), so the scan's memory does not grow with the repositories.
            var marked = new HexKeySet();
            var staleLists = new List<V1Repository>();
            var owners = new Dictionary<string, string>(StringComparer.Ordinal);
            var scanned = 0;
            await foreach (var repository in ScanV1RepositoriesAsync(ct))
            {
                foreach (var ancestry in repository.TagAncestries)
                foreach (var id in ancestry) marked.Add(id);
                if (IsYoung(repository.ListTime))
                    foreach (var id in repository.ListImages) await MarkAncestryAsync(id, marked, ct);
                if (repository.TagImages.Count == 0 && repository.ListTime is not null && !IsYoung(repository.ListTime)) staleLists.Add(repository);
                // An image is reported under the first (ordinal) addressable repository whose list names it.
                if (repository.Addressable)
                    foreach (var id in repository.ListImages)
                        if (!owners.TryGetValue(id, out var first) || string.CompareOrdinal(repository.Name, first) < 0) owners[id] = repository.Name;
                run.Report("scanning and marking V1 repositories", ++scanned);
            }

            var candidates = new List<(ImageId Id, long Bytes, long AncestryBytes)>();
            var kept = new List<ImageId>();
            // Only directories named by a valid id: never delete what no image id can address.
            var walked = 0;
            await foreach (var (id, dir, entries) in StorageTree.ImagesAsync(_storage, i => !marked.Contains(i.Value), ct))
            {
                run.Report("checking unreached V1 images", ++walked);
                var view = new SubtreeView(entries);
                if (ImageState(dir, view) is not { } state) continue;
                if (KeepsImage(id, state)) kept.Add(id);
                else candidates.Add((id, state.Bytes, view.Object(StoragePaths.ImageAncestry(id))?.Size ?? 0));
            }
            // A kept image is a root too: deleting its parent would break it when its push completes.
            foreach (var id in kept) await MarkAncestryAsync(id.Value, marked, ct);
            run.Keep(kept.Count);
            run.MarkedImages = marked.Count;

            // Storage order is id order; the report lists the images in it, whether they would go or went.
            var unreached = candidates.Where(c => !marked.Contains(c.Id.Value)).OrderBy(c => c.Id.Value, StringComparer.Ordinal).ToList();
            if (DryRun)
            {
                var wouldGo = unreached.Select(c => new V1Candidate(c.Id, 0, c.Bytes)).ToList();
                await AddMembershipOwnersAsync(wouldGo, owners, ct);
                foreach (var r in staleLists)
                    run.Delete(new GcItem(GcItemKind.IndexImages, r.Name, StoragePaths.IndexImagesFile, r.ListPath, await _storage.SizeAsync(r.ListPath, ct) ?? 0));
                for (var i = 0; i < wouldGo.Count; i++)
                {
                    var c = wouldGo[i];
                    run.Delete(new GcItem(GcItemKind.Image, OwnerOf(c.Id, owners), c.Id.Value, c.Dir, c.Bytes));
                    run.Report("measuring V1 images", i + 1, wouldGo.Count);
                }
                return;
            }

            // Children before parents: a child kept at the last moment protects its parents, which come later. Only the
            // real run needs the depths (an ancestry read per image, a round trip each on S3).
            var depths = await DepthsAsync(unreached.Select(c => (c.Id, c.AncestryBytes)).ToList(), ct);
            var queue = unreached.Select(c => new V1Candidate(c.Id, depths[c.Id.Value], c.Bytes)).ToList();
            queue.Sort((a, b) => a.Depth != b.Depth ? b.Depth.CompareTo(a.Depth) : string.CompareOrdinal(a.Id.Value, b.Id.Value));

            await run.SweepAsync("index lists", staleLists, r => DropIndexListAsync(r, ct), ct);
            // After the lists: a dropped list's repository has left the membership table.
            await AddMembershipOwnersAsync(queue, owners, ct);
            var protectedIds = new HexKeySet();
            var deleted = new List<(V1Candidate Candidate, long Bytes)>();
            // One wave per depth: a child's directory is gone before its parent's is decided.
            Func<V1Candidate, SubtreeView, Task> decide = (c, view) => DeleteImageAsync(c, view, protectedIds, deleted, ct);
            if (run.ReadsAreRoundTrips) await run.SweepBatchesAsync("images", queue, batch => ReadImageRangesAsync(batch, ct), decide, ct, c => c.Depth);
            else await run.SweepAsync("images", queue, c => ReadImageAsync(c.Dir, ct), decide, ct, c => c.Depth);
            // Recorded in id order, as a dry run lists them.
            deleted.Sort((a, b) => string.CompareOrdinal(a.Candidate.Id.Value, b.Candidate.Id.Value));
            foreach (var (c, bytes) in deleted) run.Delete(new GcItem(GcItemKind.Image, OwnerOf(c.Id, owners), c.Id.Value, c.Dir, bytes));
        }

        /// <summary>
        /// The depth (ancestry length) of each image. An ancestry names its image's ancestors in order, each with its own
        /// ancestry as the rest of the list (docs/storage-layout.md, 'V1 tree'), so one read gives the depth of every
        /// ancestor too: the biggest ancestry files (the deepest images) are read first, a window at a time, and an image
        /// whose depth an earlier read gave is not read (an untagged chain of 10 is one read, not 10).
        /// </summary>
        private async Task<Dictionary<string, int>> DepthsAsync(List<(ImageId Id, long AncestryBytes)> images, CancellationToken ct)
        {
            var depths = new Dictionary<string, int>(images.Count, StringComparer.Ordinal);
            var wanted = images.Select(i => i.Id.Value).ToHashSet(StringComparer.Ordinal);
            var unknown = images.OrderByDescending(i => i.AncestryBytes).ThenBy(i => i.Id.Value, StringComparer.Ordinal).Select(i => i.Id).ToList();
            for (var next = 0; next < unknown.Count;)
            {
                var window = new List<ImageId>(run.ReadsInFlight);
                for (; next < unknown.Count && window.Count < run.ReadsInFlight; next++)
                    if (!depths.ContainsKey(unknown[next].Value)) window.Add(unknown[next]);
                foreach (var ancestry in await Task.WhenAll(window.Select(id => AncestryOfAsync(id, ct))))
                {
                    // An image read is its own first entry; its own read decides its depth.
                    depths[ancestry[0]] = ancestry.Count;
                    for (var i = 1; i < ancestry.Count; i++)
                        if (wanted.Contains(ancestry[i])) depths.TryAdd(ancestry[i], ancestry.Count - i);
                }
            }
            return depths;
        }

        private bool KeepsImage(ImageId id, (DateTimeOffset? Modified, bool InProgress, long Bytes) state) =>
            _coordinator.IsImageTouched(id.Value)
            || IsYoung(state.Modified)
            || (state.InProgress && run.IsYoungUpload(state.Modified));

        /// <summary>Under the exclusive side: re-checks that the repository still has no tag and an old list, then removes the list.</summary>
        private async Task DropIndexListAsync(V1Repository repository, CancellationToken ct)
        {
            var children = await _storage.ListAsync(repository.Path, ct);
            var modified = await _storage.LastModifiedAsync(repository.ListPath, ct);
            if (modified is null) return;
            if (children.Any(c => StoragePaths.IsTagFileName(StoragePaths.FileName(c))) || IsYoung(modified))
            {
                run.Keep();
                return;
            }
            var size = await _storage.SizeAsync(repository.ListPath, ct) ?? 0;
            await _storage.DeleteAsync(repository.ListPath, CancellationToken.None);
            run.Delete(new GcItem(GcItemKind.IndexImages, repository.Name, StoragePaths.IndexImagesFile, repository.ListPath, size));
            if (!repository.Addressable) return;
            run.ChangedV1Repositories.Add(repository.Name);
            await membership.RemoveRepositoryAsync(repository.Name, CancellationToken.None);
        }

        /// <summary>
        /// Under the exclusive side: skips an image a writer touched, one written since the scan, or an ancestor of one
        /// skipped before; otherwise deletes <c>json</c> first (without it the image is absent to every reader, so a
        /// crash leaves an unreadable leftover for the next run rather than a half image) and then the directory.
        /// </summary>
        private async Task DeleteImageAsync(
            V1Candidate candidate, SubtreeView view, HexKeySet protectedIds, List<(V1Candidate, long)> deleted, CancellationToken ct)
        {
            if (ImageState(candidate.Dir, view) is not { } state) return;
            if (protectedIds.Contains(candidate.Id.Value) || KeepsImage(candidate.Id, state))
            {
                run.Keep();
                foreach (var ancestor in await AncestryOfAsync(candidate.Id, ct)) protectedIds.Add(ancestor);
                return;
            }
            var size = state.Bytes;
            var json = StoragePaths.ImageJson(candidate.Id);
            var rest = view.ObjectsBelow(candidate.Dir).Where(p => p != json).ToList();
            await run.DeleteInOrderAsync(new GcDeleteStep(json, view.Object(json) is null ? [] : [json]), new GcDeleteStep(candidate.Dir, rest));
            // No search re-sync: a V1 repository is listed by its tags, index list, privacy marker and description, and an
            // image no tag reaches is none of them (a re-sync per owner was 497 listings at 10k images on S3).
            deleted.Add((candidate, size));
        }

        /// <summary>An image directory's entries, read again under the exclusive side.</summary>
        private async Task<SubtreeView> ReadImageAsync(string dir, CancellationToken ct) => new(await StorageSubtree.ReadAsync(_storage, dir, -1, ct));

        /// <summary>Image ids per ranged listing of <c>images/</c> in <see cref="ReadImageRangesAsync"/>.</summary>
        private const int ImagesPerRange = 16;

        /// <summary>
        /// A batch's image directories, read again under the exclusive side where each read is a round trip (S3): a batch
        /// of one depth is in id order, so every <see cref="ImagesPerRange"/> of its ids are one ranged listing of
        /// <c>images/</c> (the kept images between them listed too) instead of a listing per image, a few at once: at 10k
        /// garbage images 480 listings instead of 5,000. RGW's time follows the keys listed, so there the two are even; a
        /// store that charges and waits per request gains.
        /// </summary>
        private async Task<IReadOnlyList<SubtreeView>> ReadImageRangesAsync(IReadOnlyList<V1Candidate> batch, CancellationToken ct)
        {
            var ranges = new List<List<V1Candidate>>();
            foreach (var c in batch)
            {
                if (ranges.Count == 0 || ranges[^1].Count == ImagesPerRange || ranges[^1][0].Depth != c.Depth) ranges.Add([]);
                ranges[^1].Add(c);
            }
            var found = new Dictionary<string, IReadOnlyList<StorageEntry>>(StringComparer.Ordinal);
            await foreach (var read in ReadAhead.InOrderAsync(ranges, r => ReadImageRangeAsync(r, ct), ct, run.ReadsInFlight))
                foreach (var (dir, entries) in read) found[dir] = entries;
            return batch.Select(c => new SubtreeView(found.GetValueOrDefault(c.Dir, []))).ToList();
        }

        private Task<List<(string Child, IReadOnlyList<StorageEntry> Entries)>> ReadImageRangeAsync(List<V1Candidate> images, CancellationToken ct)
        {
            var dirs = images.Select(c => c.Dir).ToHashSet(StringComparer.Ordinal);
            var range = new ChildRange(dirs.Min(StringComparer.Ordinal)!, dirs.Max(StringComparer.Ordinal)!);
            return StorageSubtree.ReadRangeAsync(_storage, StoragePaths.ImagesDir, dirs.Contains, range, ct);
        }

        /// <summary>
        /// The latest file time in an image directory, whether it is unfinished and its bytes, from one read of the
        /// directory; null when it holds nothing.
        /// </summary>
        private static (DateTimeOffset? Modified, bool InProgress, long Bytes)? ImageState(string dir, SubtreeView view)
        {
            var files = view.Children(dir);
            if (files.Count == 0) return null;
            var inProgress = files.Any(f => StoragePaths.FileName(f.Path) == StoragePaths.InProgressFile);
            var (bytes, latest) = view.Measure(dir);
            return (latest, inProgress, bytes);
        }

        /// <summary>The repository a deleted image is reported under: the first listing it in its index list, else in the membership table.</summary>
        private static string OwnerOf(ImageId id, Dictionary<string, string> owners) => owners.GetValueOrDefault(id.Value, "");

        /// <summary>
        /// Adds to <paramref name="owners"/> the first (ordinal) repository of the membership table for each queued image
        /// no index list names, from one read of the table instead of a query per image.
        /// </summary>
        private async Task AddMembershipOwnersAsync(List<V1Candidate> queue, Dictionary<string, string> owners, CancellationToken ct)
        {
            var missing = queue.Select(c => c.Id.Value).Where(id => !owners.ContainsKey(id)).ToHashSet(StringComparer.Ordinal);
            if (missing.Count == 0) return;
            foreach (var (repository, imageId) in await membership.ListAllAsync(ct))
            {
                if (!missing.Contains(imageId)) continue;
                if (!owners.TryGetValue(imageId, out var first) || string.CompareOrdinal(repository, first) < 0) owners[imageId] = repository;
            }
        }

        private async Task MarkAncestryAsync(string id, HexKeySet marked, CancellationToken ct)
        {
            if (marked.Contains(id) || !ImageId.TryParse(id, out var imageId)) return;
            foreach (var ancestor in await AncestryOfAsync(imageId, ct)) marked.Add(ancestor);
        }

        private Task<IReadOnlyList<string>> AncestryOfAsync(ImageId id, CancellationToken ct) => AncestryReader.ReadAsync(_storage, id, ct);

        /// <summary>
        /// Every <c>repositories/&lt;ns&gt;/&lt;repo&gt;</c>: its tags' images with their ancestries and its index list (ids
        /// and file time), a few repositories read at once (<see cref="ReadAhead"/>) in storage order.
        /// </summary>
        private IAsyncEnumerable<V1Repository> ScanV1RepositoriesAsync(CancellationToken ct) =>
            ReadAhead.InOrderAsync(StorageTree.RepositoriesAsync(_storage, ct), directory => ReadRepositoryAsync(directory, ct), ct, run.ReadsInFlight);

        private async Task<V1Repository> ReadRepositoryAsync(V1RepositoryDirectory directory, CancellationToken ct)
        {
            // Every tag file is a root, addressable or not.
            var tagImages = new List<string>();
            var tagAncestries = new List<IReadOnlyList<string>>();
            foreach (var tagFile in directory.TagFiles)
            {
                if (await StorageTree.ReadTagAsync(_storage, tagFile, ct) is not { } value) continue;
                tagImages.Add(value);
                if (ImageId.TryParse(value, out var id)) tagAncestries.Add(await AncestryOfAsync(id, ct));
            }
            var listImages = new List<string>();
            DateTimeOffset? listTime = null;
            if (directory.IndexImages is { } listPath && await _storage.GetContentAsync(listPath, ct) is { } list)
            {
                listImages.AddRange(IndexImagesService.ImageIds(IndexImagesService.ParseStored(list)));
                listTime = await _storage.LastModifiedAsync(listPath, ct);
            }
            var name = directory.Addressable ? directory.Name.FullName : directory.DiskName;
            return new V1Repository(directory.Path, name, directory.Addressable, tagImages, tagAncestries, listImages, listTime);
        }
    }
}
