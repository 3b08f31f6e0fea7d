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
/// repositories with that tag. The last two have no index of their own, so one request looks through at most
/// <see cref="MaxScanned"/> repositories (in the search index's order, from <c>from</c>) with two existence checks
/// each and stops at <see cref="MaxMatches"/> matches: bounded work per request, and the page links to the next
/// stretch, so every holder is reachable.
/// </summary>
public sealed partial class UiSearch(IStorageDriver storage, ISearchIndex index, IRepositoryImages images, UiAccess access)
{
    public const int PageSize = 20;
    public const int MaxScanned = 2000;
    public const int MaxMatches = 50;

    /// <summary>The tags and images <paramref name="query"/> names; a scan starts at the <paramref name="from"/>-th repository.</summary>
    public async Task<TagMatches> FindAsync(HttpContext http, string query, long from, CancellationToken ct)
    {
        query = query.Trim();
        var session = UiSessionService.Current(http);
        var matches = new List<TagMatch>();
        ScanRange? scanned = null;
        if (V1Id().IsMatch(query))
        {
            foreach (var holder in (await images.RepositoriesOfAsync(query, ct)).Order(StringComparer.Ordinal).Take(MaxMatches))
                if (await access.CanAsync(session, RepositoryName.FromLogical(holder), AccessKind.Read, ct))
                    matches.Add(new TagMatch(holder, "", "holds V1 image " + query[..12]));
        }
        else if (query.StartsWith("sha256:", StringComparison.Ordinal) && Digest.TryParse(query, out var digest))
            scanned = await ScanAsync(session, matches, from, async name =>
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
            scanned = await ScanAsync(session, matches, from, async name =>
                await storage.ExistsAsync(DistributionPaths.TagCurrentLink(name, tagName), ct)
                || (RepositoryName.TryParse(name, out var v1, out _) && await storage.ExistsAsync(StoragePaths.Tag(v1, tagName), ct))
                    ? [new TagMatch(name, tagName, "tag " + tagName)]
                    : [], ct);
        return new TagMatches(matches, scanned);
    }

    /// <summary>Probes repositories from the <paramref name="from"/>-th on until <see cref="MaxScanned"/> were looked at or <see cref="MaxMatches"/> matched.</summary>
    private async Task<ScanRange> ScanAsync(UiSession session, List<TagMatch> matches, long from, Func<string, Task<IReadOnlyList<TagMatch>>> probe, CancellationToken ct)
    {
        const int batch = 500;
        var position = from;
        long total = 0;
        while (position < from + MaxScanned)
        {
            var page = await index.SearchRangeAsync("", position, (int)Math.Min(batch, from + MaxScanned - position), ct);
            total = page.NumResults;
            foreach (var entry in page.Results)
            {
                position++;
                var found = await probe(entry.Name);
                if (found.Count > 0 && await access.CanAsync(session, RepositoryName.FromLogical(entry.Name), AccessKind.Read, ct))
                    matches.AddRange(found);
                if (matches.Count >= MaxMatches) return new ScanRange(from, position, total);
            }
            if (page.Results.Count == 0) break;
        }
        return new ScanRange(from, position, total);
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex V1Id();
}

/// <summary>What a tag or digest search found, and which stretch of the repositories it looked through (none for a V1 id).</summary>
public sealed record TagMatches(IReadOnlyList<TagMatch> Matches, ScanRange? Scanned);

/// <summary>Repositories <c>[From, To)</c> of <c>Total</c> were looked through; <see cref="Next"/> is where the next request goes on.</summary>
public sealed record ScanRange(long From, long To, long Total)
{
    public long? Next => To < Total ? To : null;
}
