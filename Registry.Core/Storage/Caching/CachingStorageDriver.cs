namespace Registry.Core.Storage.Caching;

/// <summary>
/// <c>cache_lru</c>: the storage driver with the small files of <see cref="CachePaths"/> cached in Redis
/// (<see cref="RedisFileCache"/>), as the Python registry's LRU cache did. Everything else, and every file while
/// Redis is away, goes straight to the wrapped driver; layer bytes always do (only a layer's size is cached).
/// </summary>
public sealed class CachingStorageDriver(IStorageDriver inner, RedisFileCache cache) : IStorageDriver, IStorageDecorator, IDisposable
{
    public IStorageDriver Inner => inner;

    public string Kind => inner.Kind;

    public RedisFileCache Cache => cache;

    public async Task<byte[]?> GetContentAsync(string path, CancellationToken ct)
    {
        if (!HoldsContent(path)) return await inner.GetContentAsync(path, ct);
        var lookup = await cache.LookupAsync(path);
        if (lookup is { Hit: true } hit) return hit.Content;
        var content = await inner.GetContentAsync(path, ct);
        if (lookup is { } miss && (content is null || content.Length <= CachePaths.MaxFileBytes))
            await cache.FillAsync(path, miss, RedisFileCache.ContentValue(content));
        return content;
    }

    public async Task PutContentAsync(string path, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        if (!IsCached(path))
        {
            await inner.PutContentAsync(path, content, ct);
            return;
        }
        var marks = await cache.BeginWriteAsync(path);
        try
        {
            await inner.PutContentAsync(path, content, ct);
        }
        finally
        {
            await cache.EndWriteAsync(marks);
        }
    }

    public Task<long> WriteStreamAsync(string path, Stream source, CancellationToken ct) =>
        WriteAsync(path, () => inner.WriteStreamAsync(path, source, ct));

    public Task<long> WriteStreamAsync(string path, Stream source, long length, CancellationToken ct) =>
        WriteAsync(path, () => inner.WriteStreamAsync(path, source, length, ct));

    private async Task<long> WriteAsync(string path, Func<Task<long>> write)
    {
        if (!IsCached(path)) return await write();
        var marks = await cache.BeginWriteAsync(path);
        try
        {
            return await write();
        }
        finally
        {
            await cache.EndWriteAsync(marks);
        }
    }

    public async Task<Stream?> OpenReadAsync(string path, long offset, CancellationToken ct)
    {
        if (HoldsContent(path) && await cache.LookupAsync(path) is { Hit: true } hit)
        {
            if (hit.Content is not { } content) return null;
            var stream = new MemoryStream(content, writable: false);
            stream.Position = Math.Min(offset, content.Length);
            return stream;
        }
        return await inner.OpenReadAsync(path, offset, ct);
    }

    public async Task<bool> ExistsAsync(string path, CancellationToken ct)
    {
        if (!IsCached(path)) return await inner.ExistsAsync(path, ct);
        if (CachePaths.IsSizeCached(path)) return await SizeAsync(path, ct) is not null;
        var lookup = await cache.LookupAsync(path);
        if (lookup is { Hit: true } hit) return hit.Exists;
        var exists = await inner.ExistsAsync(path, ct);
        // Absence is what the push checks ask most (_inprogress); a file that exists is cached by the next content read.
        if (!exists && lookup is { } miss) await cache.FillAsync(path, miss, RedisFileCache.ContentValue(null));
        return exists;
    }

    public async Task<long?> SizeAsync(string path, CancellationToken ct)
    {
        if (!IsCached(path)) return await inner.SizeAsync(path, ct);
        var lookup = await cache.LookupAsync(path);
        if (lookup is { Hit: true } hit) return hit.Size;
        var size = await inner.SizeAsync(path, ct);
        if (lookup is { } miss && (size is null || CachePaths.IsSizeCached(path)))
            await cache.FillAsync(path, miss, CachePaths.IsSizeCached(path) ? RedisFileCache.SizeValue(size) : RedisFileCache.ContentValue(null));
        return size;
    }

    public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct) => inner.ListAsync(path, ct);

    public Task<bool> DirectoryExistsAsync(string path, CancellationToken ct) => inner.DirectoryExistsAsync(path, ct);

    public async Task MoveAsync(string from, string to, CancellationToken ct)
    {
        var paths = new[] { from, to }.Where(IsCached).ToArray();
        if (paths.Length == 0)
        {
            await inner.MoveAsync(from, to, ct);
            return;
        }
        var marks = await cache.BeginWriteAsync(paths);
        try
        {
            await inner.MoveAsync(from, to, ct);
        }
        finally
        {
            await cache.EndWriteAsync(marks);
        }
    }

    public async Task<bool> DeleteAsync(string path, CancellationToken ct)
    {
        if (IsCached(path))
        {
            var marks = await cache.BeginWriteAsync(path);
            try
            {
                return await inner.DeleteAsync(path, ct);
            }
            finally
            {
                await cache.EndWriteAsync(marks);
            }
        }
        if (!CachePaths.HoldsCached(path)) return await inner.DeleteAsync(path, ct);
        try
        {
            return await inner.DeleteAsync(path, ct);
        }
        finally
        {
            // A new generation drops every cached file at once, also what was filled while the folder was going:
            // a fill checks that the generation it read from is still current.
            await cache.DropAllAsync();
        }
    }

    public Task<DateTimeOffset?> LastModifiedAsync(string path, CancellationToken ct) => inner.LastModifiedAsync(path, ct);

    public Task CleanupTempAsync(CancellationToken ct) => inner.CleanupTempAsync(ct);

    /// <summary>Closes the Redis connection; the wrapped driver belongs to whoever created it.</summary>
    public void Dispose() => cache.Dispose();

    // Invalid keys go to the driver, which rejects them, instead of into Redis. Writes mark every cached path.
    private static bool IsCached(string path) => (CachePaths.IsCached(path) || CachePaths.IsSizeCached(path)) && IsValid(path);

    private static bool HoldsContent(string path) => CachePaths.IsCached(path) && IsValid(path);

    private static bool IsValid(string path)
    {
        try
        {
            StorageKey.Validate(path);
            return true;
        }
        catch (StoragePathException)
        {
            return false;
        }
    }
}
