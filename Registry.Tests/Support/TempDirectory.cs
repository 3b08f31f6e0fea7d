using Microsoft.Data.Sqlite;

namespace Registry.Tests.Support;

/// <summary>A fresh directory under the system temp folder (storage roots, SQLite files), deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "registry-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Copies a directory tree file by file, as a user copying a repository into storage by hand.</summary>
    public static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = System.IO.Path.Combine(to, System.IO.Path.GetRelativePath(from, file));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            System.IO.File.Copy(file, target);
        }
    }

    public void Dispose()
    {
        // Pooled connections keep SQLite files open.
        SqliteConnection.ClearAllPools();
        // Directory.Delete unlinks symbolic links the tests made instead of following them.
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
