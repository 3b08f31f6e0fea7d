using System.Text;
using Registry.Core.Distribution;
using Registry.Core.Maintenance;
using Registry.Core.Storage;

namespace Registry.V2.Maintenance;

/// <summary>The v2 collector's reads of the tree: repositories, their links and tags, and the blobs.</summary>
public sealed partial class V2Collector
{
    private sealed partial class Pass
    {
        /// <summary>
        /// Every repository directory of the distribution layout: one that holds <c>_manifests</c>, <c>_layers</c> or
        /// <c>_uploads</c> (a first push has links before it has manifests); names are not validated (nor bounded), so
        /// links under a name this server would refuse still keep their blobs.
        /// </summary>
        private IAsyncEnumerable<string> RepositoryNamesAsync(CancellationToken ct) =>
            DistributionTree.AllRepositoriesAsync(_storage, RepositoryDataDirectories, ct);

        private static readonly IReadOnlySet<string> RepositoryDataDirectories =
            new HashSet<string>(StringComparer.Ordinal) { DistributionPaths.ManifestsDirName, DistributionPaths.LayersDirName, DistributionPaths.UploadsDirName };

        /// <summary>Link files are a digest; a bigger "link" is read on its own (and is no link unless it trims to one).</summary>
        private const int LinkContentLimit = 1024;

        /// <summary>
        /// Every repository (<see cref="RepositoryNamesAsync"/>'s, in its order), scanned. On files each repository's
        /// directory is read on its own, a few at once. Where a read is a round trip (S3) each first-level directory of
        /// <c>repositories/</c> is read once, from one paged listing, and its repositories are found in that read: a
        /// listing per repository (1,490 at 10k blobs) was most of the dry run's request time, and the walk had listed
        /// the whole tree twice before them. Memory then follows the largest first-level directory, not the storage.
        /// </summary>
        private async IAsyncEnumerable<V2Repository> ScanV2RepositoriesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            if (!run.ReadsAreRoundTrips)
            {
                await foreach (var repository in ReadAhead.InOrderAsync(RepositoryNamesAsync(ct), name => ScanV2RepositoryAsync(name, ct), ct, run.ReadsInFlight))
                    yield return repository;
                yield break;
            }
            foreach (var top in await _storage.ListAsync(DistributionPaths.RepositoriesDir, ct))
            {
                if (DistributionPaths.FileName(top).StartsWith('_')) continue;
                var tree = new SubtreeView(await StorageSubtree.ReadAsync(_storage, top, LinkContentLimit, ExpectedLink, ct));
                foreach (var name in RepositoriesIn(tree, top, DistributionPaths.FileName(top)))
                    yield return await ScanV2RepositoryAsync(name, tree, ct);
            }
        }

        /// <summary>
        /// The repositories at and below <paramref name="dir"/> (named <paramref name="name"/>) in a read subtree, as
        /// <see cref="DistributionTree.AllRepositoriesAsync"/> walks them: a directory with a data directory is one, nested
        /// ones follow it, names starting with '_' are data, not repositories.
        /// </summary>
        private static IEnumerable<string> RepositoriesIn(SubtreeView tree, string dir, string name)
        {
            var children = tree.Children(dir);
            if (children.Any(c => RepositoryDataDirectories.Contains(DistributionPaths.FileName(c.Path)))) yield return name;
            foreach (var child in children)
            {
                var component = DistributionPaths.FileName(child.Path);
                if (!child.IsDirectory || component.StartsWith('_')) continue;
                foreach (var nested in RepositoriesIn(tree, child.Path, $"{name}/{component}")) yield return nested;
            }
        }

        private async Task<V2Repository> ScanV2RepositoryAsync(string name, CancellationToken ct) =>
            await ScanV2RepositoryAsync(name, new SubtreeView(await StorageSubtree.ReadAsync(_storage, DistributionPaths.RepositoryDir(name), LinkContentLimit, ExpectedLink, ct)), ct);

        /// <summary>
        /// A repository's revisions, tags, tag index, layer links and upload sessions, from one read of its directory
        /// (a read per data directory and a listing of the uploads cost three walks of the same path per repository), or
        /// of a directory above it. A repository that also holds nested repositories reads their entries too; they are
        /// not looked at.
        /// </summary>
        private async Task<V2Repository> ScanV2RepositoryAsync(string name, SubtreeView tree, CancellationToken ct)
        {
            var revisions = await LinksAsync(name, tree, layer: false, ct);
            var layers = await LinksAsync(name, tree, layer: true, ct);
            var tags = new List<(string, Digest?)>();
            var tagIndex = new List<(string, Digest, string, long)>();
            foreach (var tagDir in tree.Children(DistributionPaths.TagsDir(name)))
            {
                var tag = DistributionPaths.FileName(tagDir.Path);
                tags.Add((tag, await ReadLinkAsync(tree, DistributionPaths.TagCurrentLink(name, tag), ct)));
                foreach (var entry in DigestDirectories(tree, DistributionPaths.TagIndexDir(name, tag))) tagIndex.Add((tag, entry.Digest, entry.Dir, tree.Measure(entry.Dir).Bytes));
            }
            var uploads = tree.Children(DistributionPaths.UploadsDir(name)).Select(e => e.Path).ToList();
            return new V2Repository(name, revisions, tags, tagIndex, layers, uploads);
        }

        /// <summary>The <c>&lt;alg&gt;/&lt;hex&gt;/link</c> entries under a directory; a directory without a readable link is no link.</summary>
        private async Task<List<V2Link>> LinksAsync(string repository, SubtreeView tree, bool layer, CancellationToken ct)
        {
            var links = new List<V2Link>();
            var root = layer ? DistributionPaths.LayersDir(repository) : DistributionPaths.RevisionsDir(repository);
            foreach (var (digest, dir) in DigestDirectories(tree, root))
            {
                var path = $"{dir}/{DistributionPaths.LinkFile}";
                if (await ReadLinkAsync(tree, path, ct) is not { } target) continue;
                links.Add(new V2Link(repository, layer, digest, target == digest ? digest : target, tree.Object(path)?.Modified, tree.Measure(dir).Bytes));
            }
            return links;
        }

        /// <summary>
        /// What a link holds in the common case, for the subtree read to confirm without reading it
        /// (<see cref="ISubtreeReading.ReadSubtreeAsync"/>): in an <c>&lt;alg&gt;/&lt;hex&gt;</c> directory its directory's
        /// digest; a tag's <c>current/link</c> the digest of the tag's index entry written last (a tag write writes both);
        /// null for other paths.
        /// </summary>
        private static byte[]? ExpectedLink(string path, SubtreeView listing)
        {
            if (DistributionPaths.FileName(path) != DistributionPaths.LinkFile) return null;
            var dir = path[..path.LastIndexOf('/')];
            if (DistributionPaths.FileName(dir) == DistributionPaths.TagCurrentDirName)
                return LatestIndexEntry(listing, $"{dir[..dir.LastIndexOf('/')]}/{DistributionPaths.TagIndexDirName}");
            return DirectoryDigest(dir) is { } digest ? Encoding.ASCII.GetBytes(digest.ToString()) : null;
        }

        /// <summary>The digest an <c>&lt;alg&gt;/&lt;hex&gt;</c> directory names, or null.</summary>
        private static Digest? DirectoryDigest(string dir)
        {
            var hexAt = dir.LastIndexOf('/');
            if (hexAt <= 0) return null;
            var alg = DistributionPaths.FileName(dir[..hexAt]);
            return Digest.TryParse($"{alg}:{dir[(hexAt + 1)..]}", out var digest) ? digest : null;
        }

        /// <summary>The digest of the newest <c>link</c> below a tag's index, as the link's content, or null when the listing has none.</summary>
        private static byte[]? LatestIndexEntry(SubtreeView listing, string indexDir)
        {
            (Digest Digest, DateTimeOffset Modified)? latest = null;
            foreach (var algDir in listing.Children(indexDir))
            foreach (var hexDir in listing.Children(algDir.Path))
                if (listing.Object($"{hexDir.Path}/{DistributionPaths.LinkFile}") is { Modified: { } modified } && DirectoryDigest(hexDir.Path) is { } digest
                    && (latest is null || modified > latest.Value.Modified))
                    latest = (digest, modified);
            return latest is { } found ? Encoding.ASCII.GetBytes(found.Digest.ToString()) : null;
        }

        /// <summary>What <see cref="DistributionLinks.ReadAsync"/> would read, from the subtree where it holds the content.</summary>
        private async Task<Digest?> ReadLinkAsync(SubtreeView tree, string path, CancellationToken ct)
        {
            if (tree.Object(path) is not { } entry) return null;
            if (entry.Content is null) return await DistributionLinks.ReadAsync(_storage, path, ct);
            return DistributionLinks.Parse(entry.Content);
        }

        /// <summary>As <see cref="DistributionTree.DigestDirectoriesAsync"/>, from a subtree.</summary>
        private static List<(Digest Digest, string Dir)> DigestDirectories(SubtreeView tree, string root)
        {
            var result = new List<(Digest, string)>();
            foreach (var algDir in tree.Children(root))
            foreach (var hexDir in tree.Children(algDir.Path))
                if (DirectoryDigest(hexDir.Path) is { } digest)
                    result.Add((digest, hexDir.Path));
            return result;
        }

        /// <summary>
        /// Every blob directory <c>blobs/&lt;alg&gt;/&lt;xx&gt;/&lt;hex&gt;</c> whose name is a valid digest, with the bytes and
        /// latest file time under it (null when it holds nothing): the prefix directories of each algorithm from one paged
        /// listing where the driver streams them (<see cref="IChildSubtreesReading"/>, S3), else one read per prefix directory.
        /// </summary>
        private async IAsyncEnumerable<(Digest Digest, long Bytes, DateTimeOffset? Modified)> BlobsAsync(
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            foreach (var algDir in await _storage.ListAsync(DistributionPaths.BlobsDir, ct))
            {
                var alg = DistributionPaths.FileName(algDir);
                await foreach (var (prefixDir, entries) in StorageSubtree.ReadChildrenAsync(_storage, algDir, _ => true, ct))
                {
                    var tree = new SubtreeView(entries);
                    foreach (var hexDir in tree.Children(prefixDir))
                        if (Digest.TryParse($"{alg}:{DistributionPaths.FileName(hexDir.Path)}", out var digest) && DistributionPaths.BlobDir(digest) == hexDir.Path)
                        {
                            var (bytes, modified) = hexDir.IsDirectory ? tree.Measure(hexDir.Path) : (hexDir.Size, hexDir.Modified);
                            yield return (digest, bytes, modified);
                        }
                }
            }
        }
    }
}
