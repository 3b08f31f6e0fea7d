using Registry.Core.Storage;

namespace Registry.Core.Distribution;

/// <summary>
/// Walks of the distribution layout (docs/storage-layout.md, 'V2 tree') that more than one reader needs: the repository directories
/// and the <c>&lt;alg&gt;/&lt;hex&gt;</c> directories under a repository's revisions, layers or tag index.
/// </summary>
public static class DistributionTree
{
    /// <summary>
    /// Every directory under <c>repositories/</c> that holds one of <paramref name="dataDirectories"/> (e.g.
    /// <c>_manifests</c>), as a name relative to <c>repositories/</c>. Nested repositories (<c>foo</c> and <c>foo/bar</c>)
    /// both count; directories whose name starts with '_' are a repository's own data and are not descended into.
    /// Names are not validated. The order is the catalog's ('/' before every other character), because children are
    /// listed in ordinal order and visited depth first; nothing longer than <paramref name="maxNameLength"/> is visited.
    /// </summary>
    public static IAsyncEnumerable<string> RepositoriesAsync(
        IStorageDriver storage, IReadOnlySet<string> dataDirectories, int maxNameLength, CancellationToken ct) =>
        RepositoriesAfterAsync(storage, dataDirectories, maxNameLength, after: "", ct);

    /// <summary>
    /// The same walk of every repository, for a reader of them all (the collector): where the driver lists a directory's
    /// children with theirs in one call (<see cref="ITreeListing"/>, S3's flat listing), each level is one such call
    /// instead of a listing per directory; a directory is listed only when a child holds more than data directories.
    /// </summary>
    public static IAsyncEnumerable<string> AllRepositoriesAsync(IStorageDriver storage, IReadOnlySet<string> dataDirectories, CancellationToken ct) =>
        storage.Find<ITreeListing>() is { } tree
            ? WalkTwoLevelsAsync(tree, dataDirectories, "", ct)
            : RepositoriesAsync(storage, dataDirectories, int.MaxValue, ct);

    private static async IAsyncEnumerable<string> WalkTwoLevelsAsync(
        ITreeListing tree, IReadOnlySet<string> dataDirectories, string name, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var dir = name.Length == 0 ? DistributionPaths.RepositoriesDir : DistributionPaths.RepositoryDir(name);
        foreach (var (child, grandchildren) in await tree.ListTwoLevelsAsync(dir, ct))
        {
            var component = DistributionPaths.FileName(child);
            if (component.StartsWith('_')) continue;
            var childName = name.Length == 0 ? component : $"{name}/{component}";
            if (grandchildren.Any(g => dataDirectories.Contains(DistributionPaths.FileName(g)))) yield return childName;
            if (grandchildren.Any(g => !DistributionPaths.FileName(g).StartsWith('_')))
                await foreach (var nested in WalkTwoLevelsAsync(tree, dataDirectories, childName, ct)) yield return nested;
        }
    }

    /// <summary>
    /// The same walk yielding only names after <paramref name="after"/> in catalog order (all when empty), without
    /// listing the directories whose whole subtree sorts before it: a <c>_catalog</c> page (<c>last=</c>) costs the
    /// listings of its own names, not of every name before it (on S3 one request per directory).
    /// </summary>
    public static IAsyncEnumerable<string> RepositoriesAfterAsync(
        IStorageDriver storage, IReadOnlySet<string> dataDirectories, int maxNameLength, string after, CancellationToken ct) =>
        WalkAsync(storage, dataDirectories, maxNameLength, top: "", after, ct);

    /// <summary>The same walk of <paramref name="top"/> and the names below it only (<c>top/…</c>), in catalog order.</summary>
    public static IAsyncEnumerable<string> RepositoriesUnderAsync(
        IStorageDriver storage, IReadOnlySet<string> dataDirectories, int maxNameLength, string top, CancellationToken ct) =>
        WalkAsync(storage, dataDirectories, maxNameLength, top, after: "", ct);

    private static async IAsyncEnumerable<string> WalkAsync(
        IStorageDriver storage, IReadOnlySet<string> dataDirectories, int maxNameLength, string top, string after,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var pending = new Stack<string>();
        pending.Push(top);
        while (pending.Count > 0)
        {
            var name = pending.Pop();
            // "name/…" sorts right after "name" and before any other name that "name" is a prefix of.
            if (after.Length > 0 && name.Length > 0 && CompareCatalogOrder(name, after) < 0 && !after.StartsWith(name + "/", StringComparison.Ordinal))
                continue;
            var dir = name.Length == 0 ? DistributionPaths.RepositoriesDir : DistributionPaths.RepositoryDir(name);
            var isRepository = false;
            var nested = new List<string>();
            foreach (var child in await storage.ListAsync(dir, ct))
            {
                var component = DistributionPaths.FileName(child);
                if (dataDirectories.Contains(component)) isRepository = true;
                else if (!component.StartsWith('_')) nested.Add(name.Length == 0 ? component : $"{name}/{component}");
            }
            if (isRepository && name.Length > 0 && (after.Length == 0 || CompareCatalogOrder(name, after) > 0)) yield return name;
            for (var i = nested.Count - 1; i >= 0; i--)
                if (nested[i].Length <= maxNameLength) pending.Push(nested[i]);
        }
    }

    /// <summary>Ordinal comparison in which '/' sorts before every other character (Docker Registry HTTP API V2, 'Listing Repositories').</summary>
    public static int CompareCatalogOrder(string a, string b) =>
        string.CompareOrdinal(a.Replace('/', '\0'), b.Replace('/', '\0'));

    /// <summary>The <c>&lt;alg&gt;/&lt;hex&gt;</c> directories under <paramref name="root"/> whose names form a valid digest, in storage order.</summary>
    public static async Task<List<(Digest Digest, string Dir)>> DigestDirectoriesAsync(IStorageDriver storage, string root, CancellationToken ct)
    {
        var result = new List<(Digest, string)>();
        foreach (var algDir in await storage.ListAsync(root, ct))
        foreach (var hexDir in await storage.ListAsync(algDir, ct))
            if (Digest.TryParse($"{DistributionPaths.FileName(algDir)}:{DistributionPaths.FileName(hexDir)}", out var digest))
                result.Add((digest, hexDir));
        return result;
    }
}
