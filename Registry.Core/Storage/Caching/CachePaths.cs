namespace Registry.Core.Storage.Caching;

/// <summary>
/// Which storage paths the file cache holds: the small files of the V1 tree (docs/storage-layout.md, 'V1 tree') that
/// every pull reads, and the size of a layer, never its bytes. The rule is by path, so every instance agrees on it
/// without asking storage.
/// </summary>
public static class CachePaths
{
    /// <summary>The largest file cached; a bigger one (a huge ancestry) is read from storage every time.</summary>
    public const int MaxFileBytes = 64 * 1024;

    // images/<id>/<name>: what GET .../json, .../ancestry and the push checks read; "layer" streams.
    private static readonly HashSet<string> ImageFiles =
        ["json", "ancestry", StoragePaths.InProgressFile, "_checksum", "_files"];

    /// <summary>
    /// True for images/&lt;id&gt;/{json, ancestry, _inprogress, _checksum, _files} and every file directly in a
    /// repository folder (tags, tag json, repository json, _index_images, _private, _description).
    /// </summary>
    public static bool IsCached(string path)
    {
        var parts = path.Split('/');
        return parts switch
        {
            [StoragePaths.ImagesDir, _, var name] => ImageFiles.Contains(name),
            [StoragePaths.RepositoriesDir, _, _, _] => true,
            _ => false,
        };
    }

    /// <summary>
    /// True for images/&lt;id&gt;/layer: only its size (and whether it exists) is cached, which every GET of the image
    /// json reports; its bytes always stream from storage.
    /// </summary>
    public static bool IsSizeCached(string path) =>
        path.Split('/') is [StoragePaths.ImagesDir, _, "layer"];

    /// <summary>
    /// True for a folder that holds cached files (the root, images, images/&lt;id&gt;, repositories, a namespace, a
    /// repository): deleting it must drop every cached file below it.
    /// </summary>
    public static bool HoldsCached(string path)
    {
        if (path.Length == 0) return true;
        var parts = path.Split('/');
        return parts switch
        {
            [StoragePaths.ImagesDir] or [StoragePaths.ImagesDir, _] => true,
            [StoragePaths.RepositoriesDir] or [StoragePaths.RepositoriesDir, _] or [StoragePaths.RepositoriesDir, _, _] => true,
            _ => false,
        };
    }
}
