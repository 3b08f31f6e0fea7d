namespace Registry.Core.Storage;

/// <summary>
/// A dumb, path-keyed blob store. Paths are relative, '/'-separated keys such as
/// <c>images/&lt;id&gt;/json</c>; only <see cref="StoragePaths"/> knows the layout.
/// Drivers never expose a partially written object: writes become visible atomically.
/// </summary>
public interface IStorageDriver
{
    /// <summary>A short name for logs and the <c>config</c> verb ("file", "inmemory", "s3").</summary>
    string Kind { get; }

    /// <summary>The whole content of a small object, or null when it does not exist.</summary>
    Task<byte[]?> GetContentAsync(string path, CancellationToken ct);

    /// <summary>Atomically creates or replaces a small object.</summary>
    Task PutContentAsync(string path, ReadOnlyMemory<byte> content, CancellationToken ct);

    /// <summary>
    /// Streams <paramref name="source"/> into the object at <paramref name="path"/> until it ends;
    /// the object appears (replacing any previous one) only after the whole stream was written and flushed.
    /// If the stream throws or <paramref name="ct"/> fires, nothing is published and the temp data is removed.
    /// Returns the number of bytes written.
    /// </summary>
    Task<long> WriteStreamAsync(string path, Stream source, CancellationToken ct);

    /// <summary>
    /// <see cref="WriteStreamAsync(string, Stream, CancellationToken)"/> for a source declared to hold
    /// <paramref name="length"/> bytes (a request's Content-Length), which a driver may use to write without buffering.
    /// A source of another length returns a count other than <paramref name="length"/>; whether anything was stored then
    /// differs by driver, so the caller deletes the path.
    /// </summary>
    Task<long> WriteStreamAsync(string path, Stream source, long length, CancellationToken ct) => WriteStreamAsync(path, source, ct);

    /// <summary>Opens the object for reading from <paramref name="offset"/>, or null when it does not exist.</summary>
    Task<Stream?> OpenReadAsync(string path, long offset, CancellationToken ct);

    /// <summary>True when an object (not a directory/prefix) exists at the path.</summary>
    Task<bool> ExistsAsync(string path, CancellationToken ct);

    /// <summary>The object's size in bytes, or null when it does not exist.</summary>
    Task<long?> SizeAsync(string path, CancellationToken ct);

    /// <summary>
    /// The direct children (objects and sub-directories) of a directory/prefix, as full paths
    /// ("repositories/library/foo/tag_latest"), ordinal-sorted. Empty when the directory does not exist.
    /// </summary>
    Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct);

    /// <summary>True when the path is a directory/prefix that holds at least one object.</summary>
    Task<bool> DirectoryExistsAsync(string path, CancellationToken ct);

    /// <summary>Atomically moves an object, replacing the destination.</summary>
    Task MoveAsync(string from, string to, CancellationToken ct);

    /// <summary>
    /// Deletes an object, or a directory/prefix recursively: what it held when the delete began (an object written into
    /// it meanwhile may stay). Returns false when nothing was there.
    /// </summary>
    Task<bool> DeleteAsync(string path, CancellationToken ct);

    /// <summary>The last modification time of an object, or null when it does not exist.</summary>
    Task<DateTimeOffset?> LastModifiedAsync(string path, CancellationToken ct);

    /// <summary>
    /// Removes temp data left behind by a crash: only data older than this driver, so that it may run in the
    /// background while the registry already writes. Called once at start-up.
    /// </summary>
    Task CleanupTempAsync(CancellationToken ct);
}
