using System.Text;
using System.Threading.Channels;
using Registry.Core.Concurrency;
using Registry.Core.Distribution;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.Index.Search;

/// <summary>
/// Which repositories exist, as storage says, and keeping the search index in step with that. A repository
/// is listed when it is not private and has at least one V1 tag or an index image list (<c>_index_images</c>), or at
/// least one v2 tag in the distribution layout; the same rule serves the per-request sync and the full rebuild,
/// so both always agree. The search name is the logical V1 name ("ns/repo") or the v2 name as pushed
/// ("hello-world", "a/b/c"); a two-part v2 name is the same entry as the V1 repository of that name. Privacy and
/// the description of a v2 name are those of the V1 repository its name maps to (a one-part name to <c>library/</c>).
/// </summary>
public sealed class RepositoryCatalog(
    IStorageDriver storage, ISearchIndex index, IPrivateRepositories privates, IKeyedLock locks, Hub.IHubStore hub, DistributionCatalog distribution)
{
    /// <summary>The longest description <c>PUT …/properties</c> accepts.</summary>
    public const int MaxDescriptionLength = 1000;

    public async Task<bool> IsListedAsync(RepositoryName name, CancellationToken ct) =>
        !await IsPrivateAsync(name, ct) && (await ExistsAsync(name, ct) || await V2ExistsAsync(name.FullName, ct));

    /// <summary>
    /// Whether storage holds the repository, private or not: V1 tags or an image list, or v2 tags under its name (a
    /// <c>library/</c> name also under its one-part v2 name).
    /// </summary>
    public async Task<bool> HoldsAsync(RepositoryName name, CancellationToken ct) =>
        await ExistsAsync(name, ct) || await V2ExistsAsync(name.FullName, ct)
        || (name.Namespace == RepositoryName.DefaultNamespace && await V2ExistsAsync(name.Repository, ct));

    private Task<bool> IsPrivateAsync(RepositoryName name, CancellationToken ct) => storage.ExistsAsync(StoragePaths.Private(name), ct);

    /// <summary>A repository exists when it has at least one tag or an index image list (<see cref="V1RepositoryDirectory.Exists"/>).</summary>
    private async Task<bool> ExistsAsync(RepositoryName name, CancellationToken ct) =>
        await StorageTree.RepositoryAsync(storage, name, ct) is { Exists: true };

    /// <summary>
    /// A v2 repository exists (for search) when at least one of its tags points somewhere. <paramref name="written"/> are
    /// tags just written: when one of them still points somewhere that settles it without listing the tags.
    /// </summary>
    private async Task<bool> V2ExistsAsync(string name, IReadOnlyList<string> written, CancellationToken ct)
    {
        if (!DistributionName.IsValid(name)) return false;
        foreach (var tag in written)
            if (await storage.ExistsAsync(DistributionPaths.TagCurrentLink(name, tag), ct)) return true;
        foreach (var tagDir in await storage.ListAsync(DistributionPaths.TagsDir(name), ct))
            if (await storage.ExistsAsync(DistributionPaths.TagCurrentLink(name, DistributionPaths.FileName(tagDir)), ct)) return true;
        return false;
    }

    private Task<bool> V2ExistsAsync(string name, CancellationToken ct) => V2ExistsAsync(name, [], ct);

    /// <summary>Adds or removes the repository in the search index to match storage.</summary>
    public Task SyncAsync(RepositoryName name, CancellationToken ct) => SyncNameAsync(name.FullName, name, [], ct);

    /// <summary>The same for a repository pushed over v2, by its v2 name (after a tag is removed), and its <c>_catalog</c> entry.</summary>
    public Task SyncV2Async(string name, CancellationToken ct) => SyncV2Async(name, [], ct);

    /// <summary>The same after <paramref name="writtenTags"/> were written: the first of them that points somewhere proves a tag.</summary>
    public Task SyncV2Async(string name, IReadOnlyList<string> writtenTags, CancellationToken ct) =>
        // One read of the repository's tags serves both: a tag that points somewhere means _manifests is there.
        distribution.SyncAsync(name, inner => SyncNameAsync(name, RepositoryName.FromLogical(name), writtenTags, inner), ct);

    /// <summary>After an untagged manifest write: only the <c>_catalog</c> entry can change (search lists tagged repositories).</summary>
    public Task SyncV2CatalogAsync(string name, CancellationToken ct) => distribution.SyncAsync(name, ct);

    /// <summary>The same for any name the search index may hold (V1 "ns/repo" or a v2 name), as storage is found to differ.</summary>
    public Task SyncKeyAsync(string key, CancellationToken ct) => SyncNameAsync(key, RepositoryName.FromLogical(key), [], ct);

    /// <summary>
    /// Reads storage, then writes the indexes: serialized per name (across instances where the lock is shared), so that
    /// of two syncs racing a write, the one that read storage last also writes last. Returns whether a v2 tag of <paramref name="key"/> points somewhere, when that was read (null when a V1 repository
    /// of the name answered first).
    /// </summary>
    private async Task<bool?> SyncNameAsync(string key, RepositoryName v1, IReadOnlyList<string> writtenTags, CancellationToken ct)
    {
        await using var held = await locks.AcquireAsync("search:" + key, ct);
        // One listing of the V1 directory says whether the V1 repository exists and which of its privacy marker and
        // description are there to read (on S3 a missing one would cost a request each, on every v2 push).
        var directory = await StorageTree.RepositoryAsync(storage, v1, ct);
        bool? v2Tagged = null;
        var exists = (key.Contains('/') && directory is { Exists: true }) || (v2Tagged = await V2ExistsAsync(key, writtenTags, ct)) == true;
        var isPrivate = exists && directory is not null && directory.Lists(StoragePaths.PrivateFile) && await IsPrivateAsync(v1, ct);
        var description = exists && directory is not null && directory.Lists(StoragePaths.DescriptionFile) ? await ReadDescriptionAsync(v1, ct) : "";
        if (exists && !isPrivate) await index.SetDescriptionAsync(key, description, ct);
        else await index.RemoveRepositoryAsync(key, ct);
        if (isPrivate) await privates.UpsertAsync(key, description, ct);
        else await privates.RemoveAsync(key, ct);
        return v2Tagged;
    }

    /// <summary>Lists a repository that now exists, with the description stored beside it ("" when none).</summary>
    public async Task AddAsync(RepositoryName name, CancellationToken ct) =>
        await index.SetDescriptionAsync(name.FullName, await ReadDescriptionAsync(name, ct), ct);

    public async Task<string> ReadDescriptionAsync(RepositoryName name, CancellationToken ct)
    {
        var bytes = await storage.GetContentAsync(StoragePaths.Description(name), ct);
        return bytes is null ? "" : Encoding.UTF8.GetString(bytes);
    }

    /// <summary>
    /// Walks <c>repositories/&lt;ns&gt;/&lt;repo&gt;</c> (V1) and the distribution layout's repositories (v2) and yields
    /// every repository once, private ones marked.
    /// </summary>
    public async IAsyncEnumerable<SearchEntry> ScanAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var entry in ScanV1Async(ct))
        {
            seen.Add(entry.Name);
            yield return entry;
        }
        await foreach (var name in DistributionRepositoriesAsync(ct))
        {
            if (seen.Contains(name) || !await V2ExistsAsync(name, ct)) continue;
            var v1 = RepositoryName.FromLogical(name);
            yield return new SearchEntry(name, await ReadDescriptionAsync(v1, ct)) { Private = await IsPrivateAsync(v1, ct) };
        }
    }

    /// <summary>
    /// Every repository of the distribution layout: a directory under <c>repositories/</c> that holds
    /// <c>_manifests</c>; nested repositories (<c>foo</c> and <c>foo/bar</c>) both count. Directories whose
    /// name starts with '_' are the repositories' own data, and names outside the grammar are skipped.
    /// </summary>
    public IAsyncEnumerable<string> DistributionRepositoriesAsync(CancellationToken ct) => DistributionRepositoriesAfterAsync("", ct);

    /// <summary>The same, only the names after <paramref name="after"/> in catalog order (a <c>_catalog</c> page's <c>last</c>).</summary>
    public IAsyncEnumerable<string> DistributionRepositoriesAfterAsync(string after, CancellationToken ct) => distribution.WalkAfterAsync(after, ct);

    private async IAsyncEnumerable<SearchEntry> ScanV1Async([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var directory in StorageTree.RepositoriesAsync(storage, ct))
        {
            // A directory whose name this server could not address is not a repository it serves.
            if (!directory.Addressable || !directory.Exists) continue;
            var name = directory.Name;
            // Both files live in the directory just listed: only those it lists are worth a read.
            var description = directory.Lists(StoragePaths.DescriptionFile) ? await ReadDescriptionAsync(name, ct) : "";
            var isPrivate = directory.Lists(StoragePaths.PrivateFile) && await IsPrivateAsync(name, ct);
            yield return new SearchEntry(name.FullName, description) { Private = isPrivate };
        }
    }

    /// <summary>Entries scanned but not yet loaded: the scan runs at most this far ahead of the index it feeds.</summary>
    private const int ScanAhead = 8192;

    /// <summary>
    /// Replaces the search indexes (shared and private) with what storage holds; returns the repositories found.
    /// The shared index loads the public ones while the scan runs (through a bounded channel, so a slow load holds
    /// the scan back rather than buffering); the few private ones are written after. A failure on either side
    /// stops the other and leaves both indexes as they were. <paramref name="progress"/> hears of every repository
    /// scanned and of each phase.
    /// </summary>
    public async Task<IReadOnlyList<SearchEntry>> RebuildAsync(CancellationToken ct, IProgress<RebuildProgress>? progress = null)
    {
        var entries = new List<SearchEntry>();
        // Stars live in the index database only: a rebuild from storage takes each row's count from there.
        var stars = await hub.AllStarCountsAsync(ct);
        var rows = Channel.CreateBounded<SearchEntry>(new BoundedChannelOptions(ScanAhead) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var loading = LoadAsync(rows.Reader, stop);
        try
        {
            await foreach (var entry in ScanAsync(stop.Token))
            {
                entries.Add(entry);
                progress?.Report(new RebuildProgress(RebuildPhase.Scanning, entries.Count, 0));
                if (!entry.Private)
                    await rows.Writer.WriteAsync(stars.TryGetValue(Hub.HubNames.StarKeyOf(entry.Name), out var count) ? entry with { StarCount = count } : entry, stop.Token);
            }

            rows.Writer.Complete();
        }
        catch (Exception e)
        {
            rows.Writer.TryComplete(e);
            try
            {
                await loading;
            }
            catch (Exception) when (e is not OperationCanceledException || ct.IsCancellationRequested)
            {
                // The scan failed (or the caller cancelled) and the load stopped because of it: the scan's failure is
                // the one to report. A load that failed first stopped the scan by cancelling it: the load's goes up.
            }

            throw;
        }

        progress?.Report(new RebuildProgress(RebuildPhase.Writing, entries.Count, 0));
        await loading;
        await privates.ReplaceAllAsync(entries.Where(e => e.Private), ct);
        progress?.Report(new RebuildProgress(RebuildPhase.Done, entries.Count, entries.Count));
        return entries;
    }

    /// <summary>Loads the shared index from <paramref name="rows"/>; a failure cancels <paramref name="stop"/>, which stops the scan.</summary>
    private async Task LoadAsync(ChannelReader<SearchEntry> rows, CancellationTokenSource stop)
    {
        // Off the scan's path: the load's first synchronous steps must not hold the scan up.
        await Task.Yield();
        try
        {
            await index.ReplaceAllAsync(rows.ReadAllAsync(stop.Token), stop.Token);
        }
        catch
        {
            stop.Cancel();
            throw;
        }
    }
}
