using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Registry.Bench.Reindex;

/// <summary>
/// A V1 storage tree of N repositories as the registry writes it (docs/storage-layout.md, 'V1 tree'): a
/// <c>library</c> namespace of up to 1,000 repositories, the rest in namespaces of ten; each repository holds
/// <c>tag_latest</c> and <c>_index_images</c>, one in ten a <c>_description</c>, one in a hundred is <c>_private</c>.
/// The files are written directly (not through the driver: its flushed, renamed writes would take minutes at 1M),
/// eight namespaces at a time. A finished tree is marked by a file beside it and reused.
/// </summary>
public static class SyntheticTree
{
    private const int LibrarySize = 1000;
    private const int NamespaceSize = 10;

    /// <summary>Writes the tree unless a finished one is there; returns the time taken, or null when reused.</summary>
    public static TimeSpan? Ensure(string storage, int repositories)
    {
        var marker = storage + ".complete";
        if (File.Exists(marker)) return null;
        if (Directory.Exists(storage)) Directory.Delete(storage, recursive: true);
        var watch = Stopwatch.StartNew();
        var library = Math.Min(LibrarySize, repositories);
        var namespaces = 1 + (repositories - library + NamespaceSize - 1) / NamespaceSize;
        Parallel.For(0, namespaces, new ParallelOptions { MaxDegreeOfParallelism = 8 }, ns =>
        {
            var (first, count, name) = ns == 0
                ? (0, library, "library")
                : (library + (ns - 1) * NamespaceSize, Math.Min(NamespaceSize, repositories - library - (ns - 1) * NamespaceSize), $"team{ns:D6}");
            for (var i = first; i < first + count; i++) WriteRepository(Path.Combine(storage, "repositories", name, $"app-{i}"), i);
        });
        File.WriteAllText(marker, repositories.ToString(CultureInfo.InvariantCulture));
        return watch.Elapsed;
    }

    private static void WriteRepository(string directory, int i)
    {
        Directory.CreateDirectory(directory);
        var id = i.ToString("x64", CultureInfo.InvariantCulture);
        File.WriteAllBytes(Path.Combine(directory, "tag_latest"), Encoding.ASCII.GetBytes(id));
        File.WriteAllBytes(Path.Combine(directory, "_index_images"), Encoding.ASCII.GetBytes($"[{{\"id\": \"{id}\"}}]"));
        if (i % 10 == 0) File.WriteAllBytes(Path.Combine(directory, "_description"), Encoding.UTF8.GetBytes($"service number {i}, a lightweight image"));
        if (i % 100 == 1) File.WriteAllBytes(Path.Combine(directory, "_private"), []);
    }

    /// <summary>Lists every directory once, so that each measured run finds the same warm directory cache.</summary>
    public static void Warm(string storage)
    {
        foreach (var _ in Directory.EnumerateFileSystemEntries(storage, "*", SearchOption.AllDirectories))
        {
        }
    }
}
