using Microsoft.Data.Sqlite;

namespace Registry.Tests.Search;

/// <summary>A temporary directory for SQLite files, removed afterwards.</summary>
internal sealed class SearchTestDirectory : IDisposable
{
    public SearchTestDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "search-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        // Pooled connections keep the files open.
        SqliteConnection.ClearAllPools();
        Directory.Delete(Path, recursive: true);
    }
}
