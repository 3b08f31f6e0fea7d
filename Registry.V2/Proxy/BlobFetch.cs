using Registry.Core.Distribution;
using Registry.Core.Http;

namespace Registry.V2.Proxy;

/// <summary>
/// One upstream download of a blob (<see cref="SharedDownload"/>, verified against its digest by
/// <see cref="BlobMirror"/>), with every repository that asked for it meanwhile: each gets a link when it is published.
/// </summary>
public sealed class BlobFetch(Digest digest) : SharedDownload($"blob {digest}")
{
    private readonly HashSet<string> _repositories = new(StringComparer.Ordinal);

    public Digest Digest => digest;

    public IReadOnlyList<string> Repositories { get { lock (_repositories) return [.. _repositories]; } }

    public void AddRepository(string name)
    {
        lock (_repositories) _repositories.Add(name);
    }
}
