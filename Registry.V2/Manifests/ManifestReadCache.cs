using System.Collections.Concurrent;
using Registry.Core.Distribution;
using Registry.Core.Storage;

namespace Registry.V2.Manifests;

/// <summary>
/// The small files of the v2 read path (tag and revision links, manifest bytes, the tag directory's listing) kept in
/// memory on the file driver, each valid for as long as one <c>statx</c> of its file or directory shows the same
/// <see cref="FileStamp"/> (inode, length, modification and status-change times). A read through the driver costs a
/// <c>readlink</c> per path component (its symbolic-link jail) plus an open and a thread-pool hop; a hit costs one
/// <c>statx</c> and no allocation of content.
/// Stays exact when storage changes behind the server's back (another instance, <c>rm -rf</c>, a directory copied
/// in, a restore with old times): a removed file fails the <c>statx</c>, a replaced one (every writer renames a new
/// file in) is another inode with a new status-change time, and a directory's times move whenever an entry is added,
/// removed or renamed. Two changes inside one tick of the file system's coarse clock could share a time, so an entry
/// is only cached once its status-change time is <see cref="SettleTime"/> old, and only when the same stamp holds
/// before and after the read (the approach git takes with racily clean index entries). Misses, other drivers and
/// anything not found go through the driver, so what is served is always what the driver would serve.
/// </summary>
public sealed class ManifestReadCache
{
    /// <summary>Above this many cached bytes the cache starts over: bounded memory without bookkeeping per hit.</summary>
    public const long MaxBytes = 32L << 20;

    // One dictionary, three kinds of entry per key: the parsed content, a shaped listing, a bare "exists".
    private const string ContentKey = "c:";
    private const string ListingKey = "l:";
    private const string ExistsKey = "e:";

    /// <summary>Entries changed more recently than this are read through the driver every time (see the class comment).</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(2);

    private readonly IStorageDriver _storage;
    private readonly string? _root;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _bytes;

    public ManifestReadCache(IStorageDriver storage, TimeProvider? time = null)
    {
        _storage = storage;
        _root = FileStamp.Supported ? storage.Find<FileSystemStorageDriver>()?.Root : null;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The digest a link file names; null when the file is missing or does not hold a digest.</summary>
    public async ValueTask<Digest?> ReadLinkAsync(string path, CancellationToken ct) =>
        await GetAsync(path, static bytes => DistributionLinks.Parse(bytes), ct) as Digest;

    /// <summary>A manifest blob parsed, with its bytes (the cached array: callers never modify it); null when missing or not a manifest.</summary>
    public async ValueTask<(ManifestDocument Document, byte[] Content)?> ReadManifestAsync(string dataPath, CancellationToken ct) =>
        await GetAsync(dataPath, static bytes => ManifestDocument.TryParse(bytes) is { } document ? new ParsedManifest(document, bytes) : null, ct)
            is ParsedManifest parsed ? (parsed.Document, parsed.Content) : null;

    /// <summary>
    /// The keys listed in a directory (<see cref="IStorageDriver.ListAsync"/>, empty when it is missing) passed through
    /// <paramref name="shape"/>; the shaped value is kept while the directory's stamp holds. Only the directory's own
    /// entries are covered: a change inside a listed subdirectory does not move its times.
    /// </summary>
    public async ValueTask<T> ListAsync<T>(string path, Func<IReadOnlyList<string>, T> shape, CancellationToken ct) where T : class
    {
        if (_root is null) return shape(await _storage.ListAsync(path, ct));
        var key = ListingKey + path;
        if (_entries.TryGetValue(key, out var cached) && cached.Value is T hit && FileStamp.Of(cached.NativePath, directory: true) == cached.Stamp)
            return hit;
        var native = NativePathOf(path);
        var before = FileStamp.Of(native, directory: true);
        var keys = await _storage.ListAsync(path, ct);
        var value = shape(keys);
        Remember(key, native, before, FileStamp.Of(native, directory: true), value, keys.Sum(k => (long)k.Length * 2));
        return value;
    }

    /// <summary><see cref="IStorageDriver.ExistsAsync"/>, answered from the cache while the file's stamp holds.</summary>
    public async ValueTask<bool> ExistsAsync(string path, CancellationToken ct)
    {
        if (_root is null) return await _storage.ExistsAsync(path, ct);
        if (IsCurrent(ContentKey + path) || IsCurrent(ExistsKey + path)) return true;
        var native = NativePathOf(path);
        var before = FileStamp.Of(native, directory: false);
        if (!await _storage.ExistsAsync(path, ct)) return false;
        Remember(ExistsKey + path, native, before, FileStamp.Of(native, directory: false), true, 0);
        return true;
    }

    private async ValueTask<object?> GetAsync(string path, Func<byte[], object?> parse, CancellationToken ct)
    {
        if (_root is null)
        {
            var direct = await _storage.GetContentAsync(path, ct);
            return direct is null ? null : parse(direct);
        }
        var key = ContentKey + path;
        if (_entries.TryGetValue(key, out var cached) && FileStamp.Of(cached.NativePath, directory: false) == cached.Stamp) return cached.Value;

        var native = NativePathOf(path);
        var before = FileStamp.Of(native, directory: false);
        var bytes = await _storage.GetContentAsync(path, ct);
        if (bytes is null)
        {
            _entries.TryRemove(key, out _);
            return null;
        }
        var value = parse(bytes);
        if (value is not null) Remember(key, native, before, FileStamp.Of(native, directory: false), value, bytes.Length);
        return value;
    }

    private bool IsCurrent(string key) =>
        _entries.TryGetValue(key, out var cached) && FileStamp.Of(cached.NativePath, directory: false) == cached.Stamp;

    /// <summary>
    /// Caches a value read between two equal stamps of a settled entry (see the class comment). Names and tags were
    /// validated before any key was built, and a key is only cached after the driver read it.
    /// </summary>
    private void Remember(string key, byte[] nativePath, FileStamp? before, FileStamp? after, object value, long bytes)
    {
        if (before is not { } stamp || after != stamp) return;
        var lastChange = Math.Max(stamp.ModifiedNanos, stamp.ChangedNanos);
        if (UnixNanos(_time.GetUtcNow()) - lastChange < SettleTime.Ticks * 100) return;
        if (Interlocked.Add(ref _bytes, bytes + nativePath.Length) > MaxBytes)
        {
            _entries.Clear();
            Interlocked.Exchange(ref _bytes, bytes + nativePath.Length);
        }
        _entries[key] = new Entry(stamp, nativePath, value);
    }

    private byte[] NativePathOf(string path) => FileStamp.NativePath(_root + "/" + path);

    private static long UnixNanos(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private sealed record Entry(FileStamp Stamp, byte[] NativePath, object Value);

    private sealed record ParsedManifest(ManifestDocument Document, byte[] Content);
}
