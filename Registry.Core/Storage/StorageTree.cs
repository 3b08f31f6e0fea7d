using System.Text;
using Registry.Core.Names;

namespace Registry.Core.Storage;

/// <summary>
/// One V1 repository directory, <c>repositories/&lt;ns&gt;/&lt;repo&gt;</c>, with its listing.
/// </summary>
/// <param name="Path">The storage path of the directory.</param>
/// <param name="DiskName">The raw "ns/repo" of the two directory names.</param>
/// <param name="Name">The logical name (each component unescaped once).</param>
/// <param name="Addressable">True when the API spells <see cref="Name"/> to this very directory; a scan that maps
/// names to requests skips the others, the collector still honours their tags.</param>
/// <param name="Children">The directory's children (full paths, storage order).</param>
public sealed record V1RepositoryDirectory(string Path, string DiskName, RepositoryName Name, bool Addressable, IReadOnlyList<string> Children)
{
    /// <summary>The tag files (and the metadata files of tags named <c>_x</c>, see <see cref="StoragePaths.IsTagFileName"/>).</summary>
    public IEnumerable<string> TagFiles => Children.Where(c => StoragePaths.IsTagFileName(StoragePaths.FileName(c)));

    /// <summary>The index image list's path when the directory holds one.</summary>
    public string? IndexImages => Children.FirstOrDefault(c => StoragePaths.FileName(c) == StoragePaths.IndexImagesFile);

    /// <summary>True when the directory lists a child of that name (which may still be a directory, not an object).</summary>
    public bool Lists(string fileName) => Children.Any(c => StoragePaths.FileName(c) == fileName);

    /// <summary>A repository exists (for search and listings) when it has at least one tag or an index image list.</summary>
    public bool Exists => IndexImages is not null || TagFiles.Any();
}

/// <summary>
/// Walks of the V1 layout (<see cref="StoragePaths"/>) that more than one reader needs: the repository directories
/// for search, the membership rebuild and the collector, and the image directories for the collector. The v2 layout
/// has its own walk (<see cref="Distribution.DistributionTree"/>).
/// </summary>
public static class StorageTree
{
    /// <summary>Namespaces listed at once: the walk waits on the disk (or S3's paged listings) more than on the CPU.</summary>
    private const int NamespacesInFlight = 4;

    /// <summary>
    /// Every non-empty <c>repositories/&lt;ns&gt;/&lt;repo&gt;</c> directory, in storage order, addressable or not.
    /// Files directly under <c>repositories/</c> or a namespace list as empty directories and are skipped.
    /// Several namespaces are listed at once (<see cref="NamespacesInFlight"/>), each in one call where the driver
    /// can (<see cref="ITreeListing"/>); the order stays that of storage.
    /// </summary>
    public static async IAsyncEnumerable<V1RepositoryDirectory> RepositoriesAsync(
        IStorageDriver storage, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var tree = storage.Find<ITreeListing>();
        var running = new Queue<Task<List<V1RepositoryDirectory>>>();
        foreach (var nsPath in await storage.ListAsync(StoragePaths.RepositoriesDir, ct))
        {
            if (running.Count == NamespacesInFlight)
                foreach (var directory in await running.Dequeue()) yield return directory;
            running.Enqueue(Task.Run(() => NamespaceAsync(storage, tree, nsPath, ct), ct));
        }
        while (running.Count > 0)
            foreach (var directory in await running.Dequeue()) yield return directory;
    }

    private static async Task<List<V1RepositoryDirectory>> NamespaceAsync(IStorageDriver storage, ITreeListing? tree, string nsPath, CancellationToken ct)
    {
        IReadOnlyList<(string Path, IReadOnlyList<string> Children)> repositories;
        if (tree is not null) repositories = await tree.ListTwoLevelsAsync(nsPath, ct);
        else
        {
            var listed = new List<(string, IReadOnlyList<string>)>();
            foreach (var repoPath in await storage.ListAsync(nsPath, ct)) listed.Add((repoPath, await storage.ListAsync(repoPath, ct)));
            repositories = listed;
        }

        var ns = StoragePaths.FileName(nsPath);
        var result = new List<V1RepositoryDirectory>(repositories.Count);
        foreach (var (repoPath, children) in repositories)
        {
            if (children.Count == 0) continue;
            var repo = StoragePaths.FileName(repoPath);
            var name = StoragePaths.RepositoryFromDisk(ns, repo);
            result.Add(new V1RepositoryDirectory(repoPath, $"{ns}/{repo}", name, StoragePaths.RepositoryDir(name) == repoPath, children));
        }
        return result;
    }

    /// <summary>One repository's directory by its name, or null when it holds nothing.</summary>
    public static async Task<V1RepositoryDirectory?> RepositoryAsync(IStorageDriver storage, RepositoryName name, CancellationToken ct)
    {
        var path = StoragePaths.RepositoryDir(name);
        var children = await storage.ListAsync(path, ct);
        return children.Count == 0 ? null : new V1RepositoryDirectory(path, path[(StoragePaths.RepositoriesDir.Length + 1)..], name, true, children);
    }

    /// <summary>
    /// What a tag file names: its trimmed content, or null when it is gone or is the metadata of a tag named
    /// <c>_x</c> (<c>tag_x_json</c>, a JSON object). The value is not validated as an image id.
    /// </summary>
    public static async Task<string?> ReadTagAsync(IStorageDriver storage, string tagFile, CancellationToken ct)
    {
        if (await storage.GetContentAsync(tagFile, ct) is not { } content) return null;
        var value = Encoding.UTF8.GetString(content).Trim();
        return value.StartsWith('{') ? null : value;
    }

    /// <summary>
    /// Every <c>images/&lt;id&gt;</c> directory whose name is an image id this server would spell the same way, that
    /// <paramref name="wanted"/> accepts and that holds something, with its subtree's entries (no contents): one paged
    /// listing of <c>images/</c> where the driver can (<see cref="IChildSubtreesReading"/>), else a read per directory.
    /// </summary>
    public static async IAsyncEnumerable<(ImageId Id, string Dir, IReadOnlyList<StorageEntry> Entries)> ImagesAsync(
        IStorageDriver storage, Func<ImageId, bool> wanted, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var (dir, entries) in StorageSubtree.ReadChildrenAsync(storage, StoragePaths.ImagesDir, d => ImageOf(d) is { } id && wanted(id), ct))
            yield return (ImageOf(dir)!.Value, dir, entries);
    }

    private static ImageId? ImageOf(string dir) =>
        ImageId.TryParse(StoragePaths.FileName(dir), out var id) && StoragePaths.ImageDir(id) == dir ? id : null;
}
