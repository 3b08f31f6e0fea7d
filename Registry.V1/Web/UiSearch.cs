using System.Text.RegularExpressions;
using Registry.Core.Distribution;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Search;

namespace Registry.V1.Web;

/// <summary>
/// The search page's matches beyond repository names (README, 'Web interface'): a V1 image id finds the repositories
/// whose image lists hold it (the index database's membership, one indexed query); <c>sha256:…</c> finds the
/// repositories that link that manifest, config or layer and the tags on that manifest; <c>tag:&lt;name&gt;</c> finds
/// repositories with that tag. The last two have no index of their own, so they look at most
/// <see cref="MaxScanned"/> repositories (in the search index's order) with two existence checks each: bounded work
/// per search, at the price of missing matches beyond the bound.
/// </summary>
public sealed partial class UiSearch(IStorageDriver storage, ISearchIndex index, IRepositoryImages images, UiAccess access)
{
    public const int PageSize = 20;
    public const int MaxScanned = 2000;
    private const int MaxMatches = 50;

    public async Task<IReadOnlyList<TagMatch>> FindAsync(HttpContext http, string query, CancellationToken ct)
    {
        query = query.Trim();
        var session = UiSessionService.Current(http);
        var matches = new List<TagMatch>();
        if (V1Id().IsMatch(query))
        {
            foreach (var holder in (await images.RepositoriesOfAsync(query, ct)).Order(StringComparer.Ordinal).Take(MaxMatches))
                if (await access.CanAsync(session, RepositoryName.FromLogical(holder), AccessKind.Read, ct))
                    matches.Add(new TagMatch(holder, "", "holds V1 image " + query[..12]));
        }
        else if (query.StartsWith("sha256:", StringComparison.Ordinal) && Digest.TryParse(query, out var digest))
            await ScanAsync(session, matches, async name =>
            {
                if (await storage.ExistsAsync(DistributionPaths.RevisionLink(name, digest), ct))
                {
                    var tagged = new List<TagMatch>();
                    foreach (var tag in await storage.ListAsync(DistributionPaths.TagsDir(name), ct))
                    {
                        var tagName = DistributionPaths.FileName(tag);
                        if (await DistributionLinks.ReadAsync(storage, DistributionPaths.TagCurrentLink(name, tagName), ct) == digest)
                            tagged.Add(new TagMatch(name, tagName, "manifest " + query[..19]));
                    }
                    return tagged.Count > 0 ? tagged : [new TagMatch(name, "", "untagged manifest " + query[..19])];
                }
                return await storage.ExistsAsync(DistributionPaths.LayerLink(name, digest), ct) ? [new TagMatch(name, "", "config or layer " + query[..19])] : [];
            }, ct);
        else if (query.StartsWith("tag:", StringComparison.Ordinal) && query[4..] is { Length: > 0 } tagName && DistributionName.IsValidTag(tagName))
            await ScanAsync(session, matches, async name =>
                await storage.ExistsAsync(DistributionPaths.TagCurrentLink(name, tagName), ct)
                || (RepositoryName.TryParse(name, out var v1, out _) && await storage.ExistsAsync(StoragePaths.Tag(v1, tagName), ct))
                    ? [new TagMatch(name, tagName, "tag " + tagName)]
                    : [], ct);
        return matches;
    }

    private async Task ScanAsync(UiSession session, List<TagMatch> matches, Func<string, Task<IReadOnlyList<TagMatch>>> probe, CancellationToken ct)
    {
        const int batch = 500;
        for (long offset = 0; offset < MaxScanned && matches.Count < MaxMatches; offset += batch)
        {
            var page = await index.SearchRangeAsync("", offset, batch, ct);
            foreach (var entry in page.Results)
            {
                var found = await probe(entry.Name);
                if (found.Count > 0 && await access.CanAsync(session, RepositoryName.FromLogical(entry.Name), AccessKind.Read, ct))
                    matches.AddRange(found);
                if (matches.Count >= MaxMatches) return;
            }
            if (page.Results.Count < batch) return;
        }
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex V1Id();
}
