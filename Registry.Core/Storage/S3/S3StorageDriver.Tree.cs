using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Amazon.S3.Model;

namespace Registry.Core.Storage;

/// <summary>
/// Whole subtrees from flat listings (ListObjectsV2 without a delimiter, a thousand keys a page, with sizes and times):
/// what a walk call by call asks of S3 with a LIST per directory and two HEADs per object, the collector's scans and the
/// V1 repository walk get in one paged listing.
/// </summary>
public sealed partial class S3StorageDriver : ISubtreeReading, IChildSubtreesReading, ITreeListing
{
    /// <summary>Small objects' contents fetched at once by <see cref="ReadSubtreeAsync"/>.</summary>
    private const int SubtreeContentReads = 16;

    public async Task<IReadOnlyList<StorageEntry>> ReadSubtreeAsync(string path, int contentLimit, ExpectedContent? expected, CancellationToken ct)
    {
        var listed = await ListBelowAsync(path, ct);
        var entries = SubtreeEntries(path, listed);
        if (expected is not null)
        {
            var md5s = listed.Where(o => o.Md5 is not null).ToDictionary(o => o.Path, o => o.Md5!, StringComparer.Ordinal);
            var listing = new SubtreeView(entries);
            for (var i = 0; i < entries.Count; i++)
                if (entries[i] is { IsDirectory: false } e && e.Size <= contentLimit && md5s.TryGetValue(e.Path, out var md5)
                    && expected(e.Path, listing) is { } guess && guess.Length == e.Size && Convert.ToHexStringLower(MD5.HashData(guess)) == md5)
                    entries[i] = e with { Content = guess };
        }
        var small = Enumerable.Range(0, entries.Count).Where(i => !entries[i].IsDirectory && entries[i].Content is null && entries[i].Size <= contentLimit).ToList();
        await Parallel.ForEachAsync(small, new ParallelOptions { MaxDegreeOfParallelism = SubtreeContentReads, CancellationToken = ct }, async (i, token) =>
        {
            // Deleted since the listing: no content, as GetContentAsync would answer.
            var content = await GetContentAsync(entries[i].Path, token);
            entries[i] = entries[i] with { Content = content };
        });
        return entries;
    }

    /// <summary>
    /// One flat listing of <paramref name="path"/>, paged and streamed: a child's keys all start with <c>child/</c>, so
    /// its group is complete once the listing has passed that prefix. A sibling whose name continues the child's with a
    /// character that sorts before '/' (<c>b-c</c> after <c>b</c>) is listed before it, so such a group waits until no
    /// shorter name can follow: the children come out in ordinal order with few groups held at once.
    /// </summary>
    /// <remarks>A <paramref name="range"/> starts the listing after its first child's own key and ends it at
    /// <see cref="ChildRange.ListingEnd"/>: the pages between, not the directory's.</remarks>
    public async IAsyncEnumerable<(string Child, IReadOnlyList<StorageEntry> Entries)> ReadChildSubtreesAsync(
        string path, Func<string, bool> wanted, ChildRange? range, [EnumeratorCancellation] CancellationToken ct)
    {
        var open = new SortedDictionary<string, List<Listed>>(StringComparer.Ordinal);
        var end = range?.ListingEnd(path.Length + 1);
        await foreach (var o in ListKeysBelowAsync(path, ct, range is null ? null : ObjectKey(range.First)))
        {
            if (end is not null && string.CompareOrdinal(o.Path, end) >= 0) break;
            foreach (var done in Complete(open, o.Path)) yield return done;
            // An object directly below the path has nothing below it.
            var slash = o.Path.IndexOf('/', path.Length + 1);
            if (slash < 0) continue;
            var name = o.Path[..slash];
            if (!open.TryGetValue(name, out var group))
            {
                if (range?.Contains(name) == false || !wanted(name)) continue;
                open[name] = group = [];
            }
            group.Add(o);
        }
        foreach (var done in Complete(open, next: null)) yield return done;
    }

    /// <summary>The groups at the front of <paramref name="open"/> that neither the key <paramref name="next"/> (null: the end) nor any later one can add to or precede.</summary>
    private static IEnumerable<(string Child, IReadOnlyList<StorageEntry> Entries)> Complete(SortedDictionary<string, List<Listed>> open, string? next)
    {
        while (open.Count > 0)
        {
            var (child, group) = open.First();
            if (next is not null && (!Passed(next, child) || ShorterMayFollow(child, next))) yield break;
            open.Remove(child);
            yield return (child, SubtreeEntries(child, DropBelowObjects(group, child.Length)));
        }
    }

    private static bool Passed(string key, string dir) =>
        !key.StartsWith(dir + "/", StringComparison.Ordinal) && string.CompareOrdinal(key, dir + "/") > 0;

    /// <summary>Whether a child named by a prefix of <paramref name="child"/>'s name that sorts after it may still be listed.</summary>
    private static bool ShorterMayFollow(string child, string key)
    {
        for (var i = child.LastIndexOf('/') + 2; i < child.Length; i++)
            if (child[i] < '/' && !Passed(key, child[..i])) return true;
        return false;
    }

    /// <summary>The entries of a subtree from its listing: the objects and the directories on their way, in ordinal path order, without content.</summary>
    private static List<StorageEntry> SubtreeEntries(string path, List<Listed> listed)
    {
        var entries = new List<StorageEntry>(listed.Count);
        var directories = new HashSet<string>(StringComparer.Ordinal);
        foreach (var o in listed)
        {
            foreach (var directory in Ancestors(o.Path, path.Length, o.IsDirectory))
                if (directories.Add(directory)) entries.Add(new StorageEntry(directory, true, 0, null, null));
            if (!o.IsDirectory) entries.Add(new StorageEntry(o.Path, false, o.Size, o.Modified, null));
        }
        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return entries;
    }

    public async Task<IReadOnlyList<(string Path, IReadOnlyList<string> Children)>> ListTwoLevelsAsync(string path, CancellationToken ct)
    {
        var children = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var o in await ListBelowAsync(path, ct))
        {
            var second = o.Path.IndexOf('/', path.Length + 1);
            var child = second < 0 ? o.Path : o.Path[..second];
            if (!children.TryGetValue(child, out var grandchildren)) children[child] = grandchildren = new SortedSet<string>(StringComparer.Ordinal);
            if (second < 0) continue;
            var third = o.Path.IndexOf('/', second + 1);
            grandchildren.Add(third < 0 ? o.Path : o.Path[..third]);
        }
        return children.Select(c => (c.Key, (IReadOnlyList<string>)c.Value.ToList())).ToList();
    }

    /// <summary>An object below the subtree's root, or (<see cref="IsDirectory"/>) a directory that lists no object.</summary>
    /// <param name="Md5">The object's MD5 (lower-case hex) when its ETag is one: a single-part object's is, a multipart upload's has a "-parts" suffix.</param>
    private sealed record Listed(string Path, bool IsDirectory, long Size, DateTimeOffset? Modified, string? Md5 = null);

    /// <summary>
    /// What <see cref="ListAsync"/> level by level would reach below <paramref name="path"/>: every object, except that
    /// a key with a segment no key could spell (a temp name) shows only as the directories above that segment, and
    /// nothing below an object is reached (a walk does not descend into what <see cref="SizeAsync"/> calls an object).
    /// </summary>
    private async Task<List<Listed>> ListBelowAsync(string path, CancellationToken ct)
    {
        var listed = new List<Listed>();
        await foreach (var o in ListKeysBelowAsync(path, ct)) listed.Add(o);
        return DropBelowObjects(listed, path.Length);
    }

    /// <summary>
    /// Every key below <paramref name="path"/> (after the key <paramref name="startAfter"/>, when given) in the store's
    /// order, paged; one with a segment no key could spell shows as the directory above it.
    /// </summary>
    private async IAsyncEnumerable<Listed> ListKeysBelowAsync(string path, [EnumeratorCancellation] CancellationToken ct, string? startAfter = null)
    {
        var dir = ObjectKey(path) + "/";
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = dir, StartAfter = startAfter };
        do
        {
            ListObjectsV2Response page;
            try
            {
                page = await _client.ListObjectsV2Async(request, ct);
            }
            catch (Exception e) when (IsStoreFailure(e, ct))
            {
                throw Unavailable("ListObjectsV2", path, e);
            }
            foreach (var o in page.S3Objects ?? [])
            {
                var segments = o.Key[dir.Length..].Split('/');
                var valid = segments.TakeWhile(s => StorageKey.IsValidSegment(s)).Count();
                if (valid < segments.Length)
                {
                    if (valid > 0) yield return new Listed($"{path}/{string.Join('/', segments[..valid])}", true, 0, null);
                    continue;
                }
                yield return new Listed($"{path}/{string.Join('/', segments)}", false, o.Size ?? 0, Modified(o), Md5Of(o.ETag));
            }
            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);
    }

    private static string? Md5Of(string? etag)
    {
        var value = etag?.Trim('"');
        return value is { Length: 32 } && value.All(char.IsAsciiHexDigit) ? value.ToLowerInvariant() : null;
    }

    /// <summary>Removes what lies below an object of the subtree rooted at <paramref name="rootLength"/> (a walk does not descend into an object).</summary>
    private static List<Listed> DropBelowObjects(List<Listed> listed, int rootLength)
    {
        var objects = listed.Where(o => !o.IsDirectory).Select(o => o.Path).ToHashSet(StringComparer.Ordinal);
        listed.RemoveAll(o => Ancestors(o.Path, rootLength, includeSelf: o.IsDirectory).Any(objects.Contains));
        return listed;
    }

    /// <summary>
    /// The directories on the way to <paramref name="entryPath"/> below the subtree's root (which ends at
    /// <paramref name="rootLength"/>), nearest the root first, and the path itself when <paramref name="includeSelf"/>.
    /// </summary>
    private static IEnumerable<string> Ancestors(string entryPath, int rootLength, bool includeSelf)
    {
        for (var slash = entryPath.IndexOf('/', rootLength + 1); slash >= 0; slash = entryPath.IndexOf('/', slash + 1))
            yield return entryPath[..slash];
        if (includeSelf) yield return entryPath;
    }
}
