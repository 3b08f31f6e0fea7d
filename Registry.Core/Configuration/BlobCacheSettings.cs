namespace Registry.Core.Configuration;

/// <summary>
/// <c>blob_cache_path</c> and <c>blob_cache_size_mb</c>: where blob bytes of an object store are kept on local disk and
/// how much of it they may take (<see cref="Storage.Caching.LocalBlobCache"/>). Off while the path is empty.
/// </summary>
public sealed record BlobCacheSettings
{
    public const long DefaultSizeMb = 10_240;

    /// <summary>The cache's directory; null: no cache.</summary>
    public string? Path { get; init; }

    public long MaxBytes { get; init; } = DefaultSizeMb << 20;

    /// <summary>The start-up warning when the path is set where it has no use (local files); null otherwise.</summary>
    public string? Warning { get; init; }

    internal static BlobCacheSettings Read(SettingsReader read, string storage)
    {
        var path = read.Text("blob_cache_path") is { Length: > 0 } text ? text : null;
        var maxBytes = read.Integer("blob_cache_size_mb", DefaultSizeMb, 1, long.MaxValue >> 20) << 20;
        if (path is null || storage != "file") return new BlobCacheSettings { Path = path, MaxBytes = maxBytes };
        return new BlobCacheSettings
        {
            MaxBytes = maxBytes,
            Warning = read.Context.Line("config warning", "blob_cache_path", read.SourceOf("blob_cache_path"),
                "not used with local storage: blobs are already local files, sent from where they are stored"),
        };
    }
}
