namespace Registry.Core.Storage;

/// <summary>
/// Optional capability of an <see cref="IStorageDriver"/>: an absolute URL from which a client can fetch an
/// object directly from the store for a limited time (<c>storage_redirect</c>, Docker Registry HTTP API V1, 'Images').
/// </summary>
public interface IPresignedUrlProvider
{
    /// <summary>
    /// A URL that serves the object at <paramref name="path"/> with GET (and Range) until
    /// <paramref name="ttl"/> has passed, or null when the driver cannot presign this key.
    /// Does not check that the object exists.
    /// </summary>
    Task<Uri?> GetDownloadUrlAsync(string path, TimeSpan ttl, CancellationToken ct);
}
