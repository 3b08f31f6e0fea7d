using System.Collections.Concurrent;
using Registry.Core.Distribution;
using Registry.Core.Storage;

namespace Registry.V2.Manifests;

/// <summary>
/// The small files of the v2 read path (tag and revision links, manifest bytes, the tag directory's listing) kept in
/// memory on the file driver, each valid for as long as one <c>stat</c> of its file shows the same length and
/// modification time. A read through the driver costs a <c>readlink</c> per path component (its symbolic-link jail)
/// plus an open and a thread-pool hop; a hit costs one <c>stat</c> and no allocation of content.
/// Stays exact when storage changes behind the server's back (another instance, <c>rm -rf</c>, a directory copied
/// in): a removed file fails the <c>stat</c>, a replaced one (every writer renames a new file in) has a new time.
/// Two writes inside one tick of the file system's coarse clock could share length and time, so a file is only
/// cached once its time is <see cref="SettleTime"/> old, and only when the same <c>stat</c> holds before and after
/// the read (the approach git takes with racily clean index entries). Misses, other drivers and anything not
/// found go through the driver, so what is served is always what the driver would serve.
/// </summary>
public sealed class ManifestReadCache
{
    /// <summary>Above this many cached bytes the cache starts over: bounded memory without bookkeeping per hit.</summary>
    public const long MaxBytes = 32L << 20;

    // One dictionary, three kinds of entry per key: the parsed content, a listing, a bare "exists".
    private const string ContentKey = "c:";
    private const string ListingKey = "l:";
    private const string ExistsKey = "e:";

    /// <summary>Files younger than this are read through the driver every time (see the class comment).</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(2);

    private readonly IStorageDriver _storage;
    private readonly string? _root;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _bytes;

    public ManifestReadCache(IStorageDriver storage, TimeProvider? time = null)
    {
        _storage = storage;
        _root = storage.Find<FileSystemStorageDriver>()?.Root;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The digest a link file names; null when the file is missing or does not hold a digest.</summary>
    public async ValueTask<Digest?> ReadLinkAsync(string path, CancellationToken ct) =>
        await GetAsync(path, static bytes => DistributionLinks.Parse(bytes), ct) as Digest;

    /// <summary>The link's target when both the link and the target's data exist (<see cref="DistributionLinks.ResolveAsync"/>).</summary>
    public async ValueTask<Digest?> ResolveLinkAsync(string linkPath, CancellationToken ct)
    {
        var target = await ReadLinkAsync(linkPath, ct);
        return target is not null && await ExistsAsync(DistributionPaths.BlobData(target), ct) ? target : null;
    }

    /// <summary>A manifest blob parsed, with its bytes (the cached array: callers never modify it); null when missing or not a manifest.</summary>
    public async ValueTask<(ManifestDocument Document, byte[] Content)?> ReadManifestAsync(string dataPath, CancellationToken ct) =>
        await GetAsync(dataPath, static bytes => ManifestDocument.TryParse(bytes) is { } document ? new ParsedManifest(document, bytes) : null, ct)
            is ParsedManifest parsed ? (parsed.Document, parsed.Content) : null;

    /// <summary>The keys listed in a directory (<see cref="IStorageDriver.ListAsync"/>), valid while the directory's time holds.</summary>
    public async ValueTask<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct)
    {
        if (_root is null) return await _storage.ListAsync(path, ct);
        var key = ListingKey + path;
        if (_entries.TryGetValue(key, out var cached) && Stat(path, directory: true) == cached.Stamp) return (IReadOnlyList<string>)cached.Value;
        var before = Stat(path, directory: true);
        var keys = await _storage.ListAsync(path, ct);
        Remember(key, before, Stat(path, directory: true), keys, keys.Sum(k => (long)k.Length * 2));
        return keys;
    }

    /// <summary><see cref="IStorageDriver.ExistsAsync"/>, answered from the cache while the file's <c>stat</c> holds.</summary>
    public async ValueTask<bool> ExistsAsync(string path, CancellationToken ct)
    {
        if (_root is null) return await _storage.ExistsAsync(path, ct);
        if (IsCurrent(ContentKey + path, path) || IsCurrent(ExistsKey + path, path)) return true;
        var before = Stat(path, directory: false);
        if (!await _storage.ExistsAsync(path, ct)) return false;
        Remember(ExistsKey + path, before, Stat(path, directory: false), true, 0);
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
        if (_entries.TryGetValue(key, out var cached) && Stat(path, directory: false) == cached.Stamp) return cached.Value;

        var before = Stat(path, directory: false);
        var bytes = await _storage.GetContentAsync(path, ct);
        if (bytes is null)
        {
            _entries.TryRemove(key, out _);
            return null;
        }
        var value = parse(bytes);
        if (value is not null) Remember(key, before, Stat(path, directory: false), value, bytes.Length);
        return value;
    }

    private bool IsCurrent(string key, string path) => _entries.TryGetValue(key, out var cached) && Stat(path, directory: false) == cached.Stamp;

    /// <summary>Caches a value read between two equal stamps of a settled file (see the class comment).</summary>
    private void Remember(string key, Stamp? before, Stamp? after, object value, long bytes)
    {
        if (before is not { } stamp || after != stamp) return;
        if (_time.GetUtcNow().UtcTicks - stamp.ModifiedTicks < SettleTime.Ticks) return;
        if (Interlocked.Add(ref _bytes, bytes) > MaxBytes)
        {
            _entries.Clear();
            Interlocked.Exchange(ref _bytes, bytes);
        }
        _entries[key] = new Entry(stamp, value);
    }

    /// <summary>
    /// One <c>stat</c> of the key's file or directory (names and tags were validated before any key was built, and a
    /// key is only cached after the driver read it). A symbolic link in its place, or the wrong kind of entry, is no
    /// stamp, so the driver decides.
    /// </summary>
    private Stamp? Stat(string path, bool directory)
    {
        FileSystemInfo info = directory ? new DirectoryInfo(_root + "/" + path) : new FileInfo(_root + "/" + path);
        if (!info.Exists || (info.Attributes & FileAttributes.ReparsePoint) != 0) return null;
        return new Stamp(directory ? -1 : ((FileInfo)info).Length, info.LastWriteTimeUtc.Ticks);
    }

    private readonly record struct Stamp(long Length, long ModifiedTicks);

    private sealed record Entry(Stamp Stamp, object Value);

    private sealed record ParsedManifest(ManifestDocument Document, byte[] Content);
}
