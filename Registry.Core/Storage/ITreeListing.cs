namespace Registry.Core.Storage;

/// <summary>
/// An optional capability of a driver (found through <see cref="StorageDriverExtensions.Find{T}"/>): the listing of a
/// directory's sub-directories, each with its own children, in one call. It answers exactly what
/// <see cref="IStorageDriver.ListAsync"/> of the directory and then of each child would, and exists because a walk of
/// a million repositories spends most of its time in the per-call work of a listing (key validation and the
/// symbolic-link checks of every path component), which one call pays once.
/// </summary>
public interface ITreeListing
{
    /// <summary>
    /// Every child of <paramref name="path"/> (full paths, ordinal order), each with its own children as
    /// <see cref="IStorageDriver.ListAsync"/> would list them (empty for an object).
    /// </summary>
    Task<IReadOnlyList<(string Path, IReadOnlyList<string> Children)>> ListTwoLevelsAsync(string path, CancellationToken ct);
}
