namespace Registry.Index.Accounts;

/// <summary>
/// Which repositories list an image (from their index image lists), kept in the index database so that a
/// read of an image can be checked against the privacy of the repositories holding it.
/// </summary>
public interface IRepositoryImages
{
    /// <summary>Replaces the images listed for one repository.</summary>
    Task SetAsync(string repository, IEnumerable<string> imageIds, CancellationToken ct);

    /// <summary>Forgets every image of the repository; no-op when it has none.</summary>
    Task RemoveRepositoryAsync(string repository, CancellationToken ct);

    /// <summary>Adds images to a repository's record (a tag's image and its ancestry), keeping the rest.</summary>
    Task AddAsync(string repository, IEnumerable<string> imageIds, CancellationToken ct);

    /// <summary>The repositories listing the image, in no particular order.</summary>
    Task<IReadOnlyList<string>> RepositoriesOfAsync(string imageId, CancellationToken ct);

    Task<bool> ContainsAsync(string repository, string imageId, CancellationToken ct);

    /// <summary>Every (repository, image) pair recorded, ordered by repository then image.</summary>
    Task<IReadOnlyList<(string Repository, string ImageId)>> ListAllAsync(CancellationToken ct);

    /// <summary>Number of (image, repository) pairs recorded.</summary>
    Task<long> CountAsync(CancellationToken ct);

    /// <summary>Forgets every image of every repository (before a rebuild from storage, <see cref="Repositories.MembershipRebuild"/>).</summary>
    Task ClearAsync(CancellationToken ct);
}
