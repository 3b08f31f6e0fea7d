using System.Text;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.Index.Search;

/// <summary>
/// Which repositories exist, as storage says, and keeping the search index in step with that. A repository
/// is listed when it is not private and has at least one tag or an index image list (<c>_index_images</c>); the same rule
/// serves the per-request sync and the full rebuild, so both always agree.
/// </summary>
public sealed class RepositoryCatalog(IStorageDriver storage, ISearchIndex index, PrivateSearchIndex privates)
{
    /// <summary>The longest description <c>PUT …/properties</c> accepts.</summary>
    public const int MaxDescriptionLength = 1000;

    public async Task<bool> IsListedAsync(RepositoryName name, CancellationToken ct) =>
        !await IsPrivateAsync(name, ct) && await ExistsAsync(name, ct);

    private Task<bool> IsPrivateAsync(RepositoryName name, CancellationToken ct) => storage.ExistsAsync(StoragePaths.Private(name), ct);

    /// <summary>A repository exists when it has at least one tag or an index image list.</summary>
    private async Task<bool> ExistsAsync(RepositoryName name, CancellationToken ct)
    {
        if (await storage.ExistsAsync(StoragePaths.IndexImages(name), ct)) return true;
        foreach (var path in await storage.ListAsync(StoragePaths.RepositoryDir(name), ct))
            if (IsTagFileName(StoragePaths.FileName(path))) return true;
        return false;
    }

    /// <summary>Adds or removes the repository in the search index to match storage.</summary>
    public async Task SyncAsync(RepositoryName name, CancellationToken ct)
    {
        var exists = await ExistsAsync(name, ct);
        var isPrivate = exists && await IsPrivateAsync(name, ct);
        if (exists && !isPrivate) await AddAsync(name, ct);
        else await index.RemoveRepositoryAsync(name.FullName, ct);
        if (isPrivate) await privates.UpsertAsync(name.FullName, await ReadDescriptionAsync(name, ct), ct);
        else await privates.RemoveAsync(name.FullName, ct);
    }

    /// <summary>Lists a repository that now exists, with the description stored beside it ("" when none).</summary>
    public async Task AddAsync(RepositoryName name, CancellationToken ct) =>
        await index.SetDescriptionAsync(name.FullName, await ReadDescriptionAsync(name, ct), ct);

    public async Task<string> ReadDescriptionAsync(RepositoryName name, CancellationToken ct)
    {
        var bytes = await storage.GetContentAsync(StoragePaths.Description(name), ct);
        return bytes is null ? "" : Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Walks <c>repositories/&lt;ns&gt;/&lt;repo&gt;</c> and yields every repository, private ones marked.</summary>
    public async IAsyncEnumerable<SearchEntry> ScanAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var nsPath in await storage.ListAsync(StoragePaths.RepositoriesDir, ct))
        {
            foreach (var repoPath in await storage.ListAsync(nsPath, ct))
            {
                var name = StoragePaths.RepositoryFromDisk(StoragePaths.FileName(nsPath), StoragePaths.FileName(repoPath));
                if (StoragePaths.RepositoryDir(name) != repoPath) continue; // not a name this server could address
                if (!await ExistsAsync(name, ct)) continue;
                yield return new SearchEntry(name.FullName, await ReadDescriptionAsync(name, ct)) { Private = await IsPrivateAsync(name, ct) };
            }
        }
    }

    /// <summary>Replaces the search indexes (shared and private) with what storage holds; returns the repositories found.</summary>
    public async Task<IReadOnlyList<SearchEntry>> RebuildAsync(CancellationToken ct)
    {
        var entries = new List<SearchEntry>();
        await foreach (var entry in ScanAsync(ct)) entries.Add(entry);
        await index.ReplaceAllAsync(entries.Where(e => !e.Private), ct);
        await privates.ReplaceAllAsync(entries.Where(e => e.Private), ct);
        return entries;
    }

    /// <summary>
    /// A <c>tag_&lt;t&gt;</c> file. (The metadata file of a tag named <c>_x</c> is <c>tag_x_json</c> and matches too;
    /// it only exists beside its tag file, so the listing rule is unaffected. Tag listings tell them apart by content.)
    /// </summary>
    public static bool IsTagFileName(string fileName) =>
        fileName.StartsWith(StoragePaths.TagPrefix, StringComparison.Ordinal) && fileName.Length > StoragePaths.TagPrefix.Length;
}
