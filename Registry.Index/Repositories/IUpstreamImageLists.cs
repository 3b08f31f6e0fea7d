using Registry.Core.Http;
using Registry.Core.Names;

namespace Registry.Index.Repositories;

/// <summary>
/// Where a mirror gets the image list of a repository it does not have (docs/configuration.md, 'V1 mirroring'): the
/// upstream index's list is stored through <see cref="IndexImagesService"/>, as a push would store it, so the local
/// index and search know the repository afterwards.
/// </summary>
public interface IUpstreamImageLists
{
    /// <summary>Fetches and stores the list; null when done or when the upstream has none (the caller looks again), else why not.</summary>
    Task<UpstreamFailure?> FetchAsync(RepositoryName name, CancellationToken ct);
}

/// <summary>Not a mirror: nothing is fetched.</summary>
public sealed class NullUpstreamImageLists : IUpstreamImageLists
{
    public Task<UpstreamFailure?> FetchAsync(RepositoryName name, CancellationToken ct) => Task.FromResult<UpstreamFailure?>(null);
}
