using System.Text.Json;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Repositories;

namespace Registry.V1.Mirroring;

/// <summary>
/// <c>GET /v1/repositories/&lt;repo&gt;/images</c> on a local miss (docs/configuration.md, 'V1 mirroring'): the upstream
/// index's list (asked with <c>X-Docker-Token: true</c>, so its token serves the registry requests that follow) is
/// stored as a push stores it. The repository is marked as a copy first, so its first tag request asks the upstream;
/// a local repository (tags without the marker) is never filled from the upstream.
/// </summary>
public sealed class MirrorIndexService(IStorageDriver storage, V1Upstream upstream, IndexImagesService lists, MirrorTagService tags) : IUpstreamImageLists
{
    public async Task<UpstreamFailure?> FetchAsync(RepositoryName name, CancellationToken ct)
    {
        if (!upstream.Enabled) return null;
        var directory = await StorageTree.RepositoryAsync(storage, name, ct);
        var copied = directory?.Lists(StoragePaths.MirrorFile) == true;
        // Tags but no list and no copy marker: a local repository, which the upstream never fills.
        if (directory is { Exists: true } && !copied) return null;
        var answer = await upstream.GetDocumentAsync(UpstreamRole.Index, UpstreamPaths.IndexImages(name), name, ct);
        if (answer.Value is null) return answer.Failure;
        using (var doc = JsonBody.TryParse(answer.Value.Body))
            if (doc is not { RootElement.ValueKind: JsonValueKind.Array }) return upstream.Invalid(UpstreamRole.Index, $"image list for {name.FullName}");

        if (!copied) await tags.MarkCopiedBeforeTagsAsync(name, ct);
        return await lists.PutImagesAsync(name, answer.Value.Body, ct) == PutImagesResult.Ok
            ? null
            : upstream.Invalid(UpstreamRole.Index, $"image list for {name.FullName}");
    }
}
