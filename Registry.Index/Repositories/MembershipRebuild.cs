using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Accounts;

namespace Registry.Index.Repositories;

/// <summary>
/// Refills <see cref="IRepositoryImages"/> from storage: every repository's <c>_index_images</c> and the ancestry of
/// every tag (a data directory from before authentication was on, or after an unclean stop).
/// </summary>
public sealed class MembershipRebuild(IStorageDriver storage, IRepositoryImages membership)
{
    /// <summary>Returns the number of repositories that list at least one image.</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        await membership.ClearAsync(ct);
        var repositories = 0;
        await foreach (var directory in StorageTree.RepositoriesAsync(storage, ct))
        {
            if (!directory.Addressable) continue;
            var ids = new List<string>();
            if (directory.IndexImages is { } listPath && await storage.GetContentAsync(listPath, ct) is { } list)
                ids.AddRange(IndexImagesService.ImageIds(IndexImagesService.ParseStored(list)));
            foreach (var tagFile in directory.TagFiles)
                if (await StorageTree.ReadTagAsync(storage, tagFile, ct) is { } value && ImageId.TryParse(value, out var id))
                    ids.AddRange(await AncestryReader.ReadAsync(storage, id, ct));
            if (ids.Count == 0) continue;
            await membership.SetAsync(directory.Name.FullName, ids, ct);
            repositories++;
        }
        return repositories;
    }
}
