namespace Registry.Core.Storage;

/// <summary>One directory or object below a subtree's root, as <see cref="IStorageDriver.ListAsync"/> lists it.</summary>
/// <param name="Path">The full storage path.</param>
/// <param name="Size">The object's bytes (0 for a directory).</param>
/// <param name="Modified">The object's file time, as <see cref="IStorageDriver.LastModifiedAsync"/> reports it (null for a directory).</param>
/// <param name="Content">The object's bytes when it has at most the requested content limit, else null.</param>
public sealed record StorageEntry(string Path, bool IsDirectory, long Size, DateTimeOffset? Modified, byte[]? Content);

/// <summary>
/// An optional capability of a driver (found through <see cref="StorageDriverExtensions.Find{T}"/>): every entry of a
/// subtree in one call, with sizes, file times and the content of small objects. It answers what a walk with
/// <see cref="IStorageDriver.ListAsync"/>, <see cref="IStorageDriver.SizeAsync"/>,
/// <see cref="IStorageDriver.LastModifiedAsync"/> and <see cref="IStorageDriver.GetContentAsync"/> would, and exists
/// because the garbage collector's walk of 100k images and blobs spends most of its time in those calls' per-call
/// work (key validation and the symbolic-link check of every path component), which one call pays once.
/// </summary>
public interface ISubtreeReading
{
    /// <summary>Every entry strictly below <paramref name="path"/> (none when it is no directory), in ordinal path order.</summary>
    /// <param name="expected">
    /// The content the caller expects of an object (null: none), e.g. a link that names its own directory. A driver that
    /// can confirm it without reading the object (S3 lists a single-part object's MD5 as its ETag) reports it as the content
    /// when it matches and reads the object only when it does not; others ignore it.
    /// </param>
    Task<IReadOnlyList<StorageEntry>> ReadSubtreeAsync(string path, int contentLimit, ExpectedContent? expected, CancellationToken ct);
}

/// <summary>
/// The content a caller of <see cref="ISubtreeReading.ReadSubtreeAsync"/> expects of the object at <paramref name="path"/>
/// (null: none), given the subtree as listed (<paramref name="listing"/>, no contents): a link that names its own
/// directory, or a tag's current link that names the tag's latest index entry.
/// </summary>
public delegate byte[]? ExpectedContent(string path, SubtreeView listing);

/// <summary>
/// An optional capability of a driver (found through <see cref="StorageDriverExtensions.Find{T}"/>): the subtree of
/// every child of a directory, streamed from one paged listing. It exists for stores where each listing is a round
/// trip (S3): the collector's scan of 100k image directories is a few hundred listing pages instead of a listing each.
/// </summary>
public interface IChildSubtreesReading
{
    /// <summary>
    /// Each child of <paramref name="path"/> that <paramref name="wanted"/> accepts and that holds something, with what
    /// <see cref="ISubtreeReading.ReadSubtreeAsync"/> of it answers without contents, in ordinal order of the children.
    /// </summary>
    /// <param name="range">Only children whose paths lie in it; the store lists only that part of the directory.</param>
    IAsyncEnumerable<(string Child, IReadOnlyList<StorageEntry> Entries)> ReadChildSubtreesAsync(string path, Func<string, bool> wanted, ChildRange? range, CancellationToken ct);
}

/// <summary>
/// The children of one directory whose full paths lie between <paramref name="First"/> and <paramref name="Last"/>
/// (ordinal, both included): a part of a large directory (<c>images/</c>) read by one ranged listing.
/// </summary>
public sealed record ChildRange(string First, string Last)
{
    public bool Contains(string child) => string.CompareOrdinal(child, First) >= 0 && string.CompareOrdinal(child, Last) <= 0;

    /// <summary>
    /// A path at or past which no key of a child in the range can sort: <c>Last</c> followed by '0' (the character after
    /// '/'), unless a shorter child (a prefix of <c>Last</c> at a character below '/', as <c>a</c> of <c>a-b</c>) sorts
    /// its keys later; <paramref name="rootLength"/> is where the child names begin.
    /// </summary>
    public string ListingEnd(int rootLength)
    {
        for (var i = rootLength; i < Last.Length; i++)
            if (Last[i] < '/' && string.CompareOrdinal(Last[..i], First) >= 0) return Last[..i] + "0";
        return Last + "0";
    }
}

/// <summary>A subtree read through <see cref="ISubtreeReading"/> where the driver offers it, else walked call by call.</summary>
public static class StorageSubtree
{
    public static Task<IReadOnlyList<StorageEntry>> ReadAsync(IStorageDriver storage, string path, int contentLimit, CancellationToken ct) =>
        ReadAsync(storage, path, contentLimit, null, ct);

    /// <inheritdoc cref="ISubtreeReading.ReadSubtreeAsync"/>
    public static Task<IReadOnlyList<StorageEntry>> ReadAsync(
        IStorageDriver storage, string path, int contentLimit, ExpectedContent? expected, CancellationToken ct) =>
        storage.Find<ISubtreeReading>() is { } reader ? reader.ReadSubtreeAsync(path, contentLimit, expected, ct) : WalkAsync(storage, path, contentLimit, ct);

    /// <summary>
    /// What <see cref="IChildSubtreesReading"/> answers: through the driver where it offers it, else a listing of
    /// <paramref name="path"/> and a subtree read of each wanted child, a few at once (<see cref="Maintenance.ReadAhead"/>).
    /// </summary>
    public static IAsyncEnumerable<(string Child, IReadOnlyList<StorageEntry> Entries)> ReadChildrenAsync(
        IStorageDriver storage, string path, Func<string, bool> wanted, CancellationToken ct, ChildRange? range = null) =>
        storage.Find<IChildSubtreesReading>() is { } reader
            ? reader.ReadChildSubtreesAsync(path, wanted, range, ct)
            : ReadEachChildAsync(storage, path, c => (range is null || range.Contains(c)) && wanted(c), ct);

    /// <summary>What <see cref="ReadChildrenAsync"/> answers for one range of children, collected.</summary>
    public static async Task<List<(string Child, IReadOnlyList<StorageEntry> Entries)>> ReadRangeAsync(
        IStorageDriver storage, string path, Func<string, bool> wanted, ChildRange range, CancellationToken ct)
    {
        var read = new List<(string, IReadOnlyList<StorageEntry>)>();
        await foreach (var child in ReadChildrenAsync(storage, path, wanted, ct, range)) read.Add(child);
        return read;
    }

    private static async IAsyncEnumerable<(string Child, IReadOnlyList<StorageEntry> Entries)> ReadEachChildAsync(
        IStorageDriver storage, string path, Func<string, bool> wanted, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var children = (await storage.ListAsync(path, ct)).Where(wanted);
        await foreach (var (child, entries) in Maintenance.ReadAhead.InOrderAsync(children, async c => (c, await ReadAsync(storage, c, -1, ct)), ct))
            if (entries.Count > 0) yield return (child, entries);
    }

    private static async Task<IReadOnlyList<StorageEntry>> WalkAsync(IStorageDriver storage, string path, int contentLimit, CancellationToken ct)
    {
        var entries = new List<StorageEntry>();
        async Task VisitAsync(string dir)
        {
            foreach (var child in await storage.ListAsync(dir, ct))
            {
                if (await storage.SizeAsync(child, ct) is not { } size)
                {
                    entries.Add(new StorageEntry(child, true, 0, null, null));
                    await VisitAsync(child);
                    continue;
                }
                var content = size <= contentLimit ? await storage.GetContentAsync(child, ct) : null;
                entries.Add(new StorageEntry(child, false, size, await storage.LastModifiedAsync(child, ct), content));
            }
        }
        await VisitAsync(path);
        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return entries;
    }
}

/// <summary>A subtree's entries asked as the driver's calls would be: a directory's children, an object's entry.</summary>
public sealed class SubtreeView
{
    private readonly Dictionary<string, List<StorageEntry>> _children = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StorageEntry> _objects = new(StringComparer.Ordinal);

    public SubtreeView(IReadOnlyList<StorageEntry> entries)
    {
        foreach (var entry in entries)
        {
            var parent = entry.Path[..entry.Path.LastIndexOf('/')];
            if (!_children.TryGetValue(parent, out var list)) _children[parent] = list = [];
            list.Add(entry);
            if (!entry.IsDirectory) _objects[entry.Path] = entry;
        }
        // Entries come in path order; a directory's children in name order, as ListAsync lists them.
        foreach (var list in _children.Values) list.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
    }

    /// <summary>What <see cref="IStorageDriver.ListAsync"/> of <paramref name="dir"/> would answer (empty for an object or nothing).</summary>
    public IReadOnlyList<StorageEntry> Children(string dir) => _children.TryGetValue(dir, out var list) ? list : [];

    /// <summary>The object at <paramref name="path"/>, or null when there is none (or a directory).</summary>
    public StorageEntry? Object(string path) => _objects.GetValueOrDefault(path);

    /// <summary>Every object below <paramref name="dir"/>, at any depth.</summary>
    public IEnumerable<string> ObjectsBelow(string dir) =>
        Children(dir).SelectMany(child => child.IsDirectory ? ObjectsBelow(child.Path) : [child.Path]);

    /// <summary>The bytes and the latest file time of every object at or below <paramref name="dir"/>.</summary>
    public (long Bytes, DateTimeOffset? Modified) Measure(string dir)
    {
        long bytes = 0;
        DateTimeOffset? latest = null;
        foreach (var child in Children(dir))
        {
            var (b, m) = child.IsDirectory ? Measure(child.Path) : (child.Size, child.Modified);
            bytes += b;
            if (m is not null && (latest is null || m > latest)) latest = m;
        }
        return (bytes, latest);
    }
}
