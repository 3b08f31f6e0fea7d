namespace Registry.Tests.Storage;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "registry-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        // Directory.Delete unlinks symbolic links the tests made instead of following them.
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
