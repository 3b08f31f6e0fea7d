using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Registry.Core.Distribution;
using Registry.Core.Observability;

namespace Registry.Core.Storage.Caching;

/// <summary>
/// <c>blob_cache_path</c>: blob bytes of an object store (S3) kept on local disk, so that a layer pulled again is sent
/// from a local file (<see cref="Http.ObjectBody"/>) instead of being fetched from the store once more. Entries are
/// content-addressed (<c>&lt;path&gt;/&lt;algorithm&gt;/&lt;hex&gt;</c>). A whole pull of a blob the cache lacks is
/// sent from the store as without the cache and asks for a fill (<see cref="RequestFill"/>); <see cref="BlobCacheFills"/>
/// reads the blob from the store again in the background, keeps it only when its digest matched, flushed and renamed
/// into place, and the least recently used go once the cache holds more than <c>blob_cache_size_mb</c>. The cache never decides whether a blob
/// exists: the caller serves an entry only after the store has confirmed that the repository links the blob and that
/// its data is still there with the same size, so a blob deleted behind this instance's back (garbage collection,
/// another instance) is not served from here. Each instance keeps its own cache; content-addressed entries need no
/// coherence between them.
/// </summary>
public sealed class LocalBlobCache
{
    /// <summary>Blobs larger than this share of the cache are not kept: one would push out most of the others.</summary>
    private const int LargestShare = 4;

    /// <summary>Fills that may wait for a worker; a request past them is dropped (a burst of first pulls of many blobs).</summary>
    public const int QueueLength = 16;

    private readonly string _root = "";
    private readonly string _temp = "";
    private readonly long _maxBytes;
    private readonly ILogger? _log;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _filling = new(StringComparer.Ordinal);
    private readonly Channel<FillRequest> _requests =
        Channel.CreateBounded<FillRequest>(new BoundedChannelOptions(QueueLength) { FullMode = BoundedChannelFullMode.Wait });
    private long _fillsQueued;
    private long _fillsDropped;
    private readonly Lock _evicting = new();
    private long _bytes;
    private long _clock;

    private LocalBlobCache()
    {
    }

    /// <summary>Opens the cache at <paramref name="root"/>: removes temp files a crash left and counts the entries there.</summary>
    public LocalBlobCache(string root, long maxBytes, ILogger log)
    {
        _root = root;
        _temp = Path.Combine(_root, "_tmp");
        _maxBytes = maxBytes;
        _log = log;
        Enabled = true;
        if (Directory.Exists(_temp)) Directory.Delete(_temp, recursive: true);
        Directory.CreateDirectory(_temp);
        var found = new List<(string Key, long Size, DateTime Time)>();
        foreach (var algorithm in Directory.EnumerateDirectories(_root))
        {
            if (!Digest.IsSupportedAlgorithm(Path.GetFileName(algorithm))) continue;
            foreach (var file in new DirectoryInfo(algorithm).EnumerateFiles())
                found.Add((Path.GetFileName(algorithm) + "/" + file.Name, file.Length, file.LastWriteTimeUtc));
        }
        // Oldest first, so that the clock orders what an earlier run left by when it was written.
        foreach (var (key, size, _) in found.OrderBy(f => f.Time))
        {
            _entries[key] = new Entry(size) { LastUse = ++_clock };
            _bytes += size;
        }
        Evict();
        log.LogInformation("Blob cache at {Path}: {Count} blobs, {Bytes} MiB of {Max} MiB", _root, _entries.Count, _bytes >> 20, _maxBytes >> 20);
    }

    /// <summary>The cache when <c>blob_cache_path</c> is not set (or the storage is local files): holds nothing.</summary>
    public static LocalBlobCache Disabled { get; } = new();

    public bool Enabled { get; }

    /// <summary>Bytes held in entries.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>
    /// The local file holding <paramref name="digest"/>'s bytes when the cache has it at <paramref name="size"/> bytes
    /// (the size the store reported just now); otherwise null. The file may still be evicted before it is opened: a
    /// caller falls back to the store when the open fails.
    /// </summary>
    public string? PathOf(Digest digest, long size)
    {
        if (!Enabled) return null;
        var key = Key(digest);
        if (!_entries.TryGetValue(key, out var entry)) return null;
        if (entry.Size != size)
        {
            Forget(digest);
            return null;
        }
        entry.LastUse = Interlocked.Increment(ref _clock);
        return Path.Combine(_root, key);
    }

    /// <summary>
    /// Asks for <paramref name="digest"/>'s bytes (<paramref name="size"/> of them, as the store reported) to be kept,
    /// read through <paramref name="open"/> by a background fill. Nothing happens when the blob is too large, already
    /// cached or being filled (so that parallel first pulls start one fill), or when <see cref="QueueLength"/> fills
    /// already wait: that request is dropped and counted, never queued without bound.
    /// </summary>
    public void RequestFill(Digest digest, long size, Func<CancellationToken, Task<Stream?>> open)
    {
        if (!Enabled || size <= 0 || size > _maxBytes / LargestShare) return;
        var key = Key(digest);
        if (_entries.ContainsKey(key) || !_filling.TryAdd(key, 0)) return;
        if (_requests.Writer.TryWrite(new FillRequest(digest, size, open)))
        {
            Interlocked.Increment(ref _fillsQueued);
            return;
        }
        _filling.TryRemove(key, out _);
        var dropped = Interlocked.Increment(ref _fillsDropped);
        RegistryMetrics.BlobCacheFills.WithLabels("dropped").Inc();
        _log?.LogDebug("Blob cache: not filling {Digest}: {Queued} fills wait already ({Dropped} dropped so far)", digest, QueueLength, dropped);
    }

    /// <summary>Fills asked for and queued since start (at most one per digest at a time).</summary>
    public long FillsQueued => Interlocked.Read(ref _fillsQueued);

    /// <summary>Fills queued or running now.</summary>
    public int FillsPending => _filling.Count;

    /// <summary>Fills not queued because the queue was full.</summary>
    public long FillsDropped => Interlocked.Read(ref _fillsDropped);

    /// <summary>The queued fills, for <see cref="BlobCacheFills"/>.</summary>
    internal ChannelReader<FillRequest> Requests => _requests.Reader;

    /// <summary>A new name for a fill's temp file, inside the cache directory so that the rename stays on one file system.</summary>
    internal string NewTempFile() => Path.Combine(_temp, Guid.NewGuid().ToString("N"));

    /// <summary>Drops the entry (the store no longer has the blob, or has it at another size).</summary>
    public void Forget(Digest digest)
    {
        if (!Enabled || !_entries.TryRemove(Key(digest), out var entry)) return;
        Interlocked.Add(ref _bytes, -entry.Size);
        TryDelete(Path.Combine(_root, Key(digest)));
    }

    /// <summary>A fill that read the whole blob and matched its digest: its temp file becomes the entry.</summary>
    internal void Commit(Digest digest, string tempFile, long size)
    {
        _log?.LogDebug("Blob cache: keeping {Digest} ({Size} bytes)", digest, size);
        var key = Key(digest);
        try
        {
            Directory.CreateDirectory(Path.Combine(_root, digest.Algorithm));
            File.Move(tempFile, Path.Combine(_root, key), overwrite: true);
            if (_entries.TryAdd(key, new Entry(size) { LastUse = Interlocked.Increment(ref _clock) })) Interlocked.Add(ref _bytes, size);
            RegistryMetrics.BlobCacheFills.WithLabels("kept").Inc();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log?.LogWarning("Blob cache: cannot keep {Digest}: {Message}", digest, e.Message);
            RegistryMetrics.BlobCacheFills.WithLabels("failed").Inc();
            TryDelete(tempFile);
        }
        finally
        {
            _filling.TryRemove(key, out _);
        }
        Evict();
    }

    /// <summary>A fill that failed, was stopped or never started (null <paramref name="tempFile"/>): nothing is kept.</summary>
    internal void Abandon(Digest digest, string? tempFile)
    {
        if (tempFile is not null && File.Exists(tempFile)) TryDelete(tempFile);
        _filling.TryRemove(Key(digest), out _);
    }

    /// <summary>Removes the least recently used entries until the cache is back under its size.</summary>
    private void Evict()
    {
        if (Interlocked.Read(ref _bytes) <= _maxBytes) return;
        lock (_evicting)
        {
            foreach (var (key, entry) in _entries.OrderBy(e => e.Value.LastUse).ToList())
            {
                if (Interlocked.Read(ref _bytes) <= _maxBytes) return;
                if (!_entries.TryRemove(new KeyValuePair<string, Entry>(key, entry))) continue;
                Interlocked.Add(ref _bytes, -entry.Size);
                TryDelete(Path.Combine(_root, key));
            }
        }
    }

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log?.LogWarning("Blob cache: cannot delete {Path}: {Message}", path, e.Message);
        }
    }

    private static string Key(Digest digest) => digest.Algorithm + "/" + digest.Hex;

    /// <summary>A fill waiting for a worker: the blob and how to read it from the store.</summary>
    internal sealed record FillRequest(Digest Digest, long Size, Func<CancellationToken, Task<Stream?>> Open);

    private sealed class Entry(long size)
    {
        public long Size { get; } = size;

        public long LastUse { get; set; }
    }
}
