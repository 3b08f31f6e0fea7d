namespace Registry.Core.Storage;

/// <summary>
/// An optional capability of a driver: deletes many known objects in as few requests as the store allows (S3's
/// DeleteObjects takes up to 1000 keys). It exists because the garbage collector deletes thousands of small objects,
/// which on S3 cost a listing and a delete request per directory. Only a driver itself offers it, never through a
/// decorator that must see each delete (the file cache): callers ask <c>storage is IBatchDeleting</c>, not
/// <see cref="StorageDriverExtensions.Find{T}"/>.
/// </summary>
public interface IBatchDeleting
{
    /// <summary>
    /// Deletes each object of <paramref name="paths"/> (objects only, not directories); a path with no object is no
    /// error. The deletes of one call have no order among themselves: a caller that needs one makes two calls.
    /// </summary>
    Task DeleteObjectsAsync(IReadOnlyCollection<string> paths, CancellationToken ct);
}
