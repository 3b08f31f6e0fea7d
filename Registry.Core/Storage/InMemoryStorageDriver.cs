namespace Registry.Core.Storage;

/// <summary>
/// A process-local driver for tests and throw-away instances. Directories are implied by key prefixes, as
/// on an object store; like the file driver it refuses an object below another object and an object where a
/// directory is (<see cref="IOException"/>), and it validates keys with <see cref="StorageKey"/>.
/// </summary>
public sealed class InMemoryStorageDriver(TimeProvider? time = null) : IStorageDriver
{
    private readonly record struct Entry(byte[] Data, DateTimeOffset Modified);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    // One lock keeps the object/directory conflict checks and recursive deletes atomic; stored arrays are
    // never mutated, so readers only need the lock to look them up.
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _objects = new(StringComparer.Ordinal);

    public string Kind => "inmemory";

    public Task<byte[]?> GetContentAsync(string path, CancellationToken ct)
    {
        StorageKey.Validate(path);
        return Task.FromResult(TryGet(path, out var entry) ? entry.Data.ToArray() : null);
    }

    public Task PutContentAsync(string path, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        StorageKey.Validate(path);
        Publish(path, content.ToArray());
        return Task.CompletedTask;
    }

    public async Task<long> WriteStreamAsync(string path, Stream source, CancellationToken ct)
    {
        StorageKey.Validate(path);
        ArgumentNullException.ThrowIfNull(source);
        using var buffer = new MemoryStream();
        await source.CopyToAsync(buffer, ct);
        ct.ThrowIfCancellationRequested();
        var data = buffer.ToArray();
        Publish(path, data);
        return data.Length;
    }

    public Task<Stream?> OpenReadAsync(string path, long offset, CancellationToken ct)
    {
        StorageKey.Validate(path);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (!TryGet(path, out var entry)) return Task.FromResult<Stream?>(null);
        var start = (int)Math.Min(offset, entry.Data.Length);
        return Task.FromResult<Stream?>(new MemoryStream(entry.Data, start, entry.Data.Length - start, writable: false));
    }

    public Task<bool> ExistsAsync(string path, CancellationToken ct)
    {
        StorageKey.Validate(path);
        return Task.FromResult(TryGet(path, out _));
    }

    public Task<long?> SizeAsync(string path, CancellationToken ct)
    {
        StorageKey.Validate(path);
        return Task.FromResult<long?>(TryGet(path, out var entry) ? entry.Data.Length : null);
    }

    public Task<DateTimeOffset?> LastModifiedAsync(string path, CancellationToken ct)
    {
        StorageKey.Validate(path);
        return Task.FromResult<DateTimeOffset?>(TryGet(path, out var entry) ? entry.Modified : null);
    }

    public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct)
    {
        StorageKey.Validate(path);
        var prefix = path + "/";
        var children = new HashSet<string>(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (var key in _objects.Keys)
            {
                if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
                var slash = key.IndexOf('/', prefix.Length);
                children.Add(slash < 0 ? key : key[..slash]);
            }
        }
        var sorted = children.ToList();
        sorted.Sort(StringComparer.Ordinal);
        return Task.FromResult<IReadOnlyList<string>>(sorted);
    }

    public Task<bool> DirectoryExistsAsync(string path, CancellationToken ct)
    {
        StorageKey.Validate(path);
        lock (_lock) return Task.FromResult(HasChildren(path));
    }

    public Task MoveAsync(string from, string to, CancellationToken ct)
    {
        StorageKey.Validate(from);
        StorageKey.Validate(to);
        lock (_lock)
        {
            if (!_objects.TryGetValue(from, out var entry))
                throw new FileNotFoundException($"Storage object '{from}' does not exist", from);
            if (from == to) return Task.CompletedTask;
            CheckWritable(to);
            _objects.Remove(from);
            // A rename keeps the modification time, as it does on a file system.
            _objects[to] = entry;
        }
        return Task.CompletedTask;
    }

    public Task<bool> DeleteAsync(string path, CancellationToken ct)
    {
        StorageKey.Validate(path);
        lock (_lock)
        {
            if (_objects.Remove(path)) return Task.FromResult(true);
            var prefix = path + "/";
            var doomed = _objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            foreach (var key in doomed) _objects.Remove(key);
            return Task.FromResult(doomed.Count > 0);
        }
    }

    /// <summary>Nothing to do: an unfinished write never reaches the dictionary.</summary>
    public Task CleanupTempAsync(CancellationToken ct) => Task.CompletedTask;

    private bool TryGet(string path, out Entry entry)
    {
        lock (_lock) return _objects.TryGetValue(path, out entry);
    }

    private void Publish(string path, byte[] data)
    {
        lock (_lock)
        {
            CheckWritable(path);
            _objects[path] = new Entry(data, _time.GetUtcNow());
        }
    }

    /// <summary>The file driver cannot hold an object where a directory is, or below another object.</summary>
    private void CheckWritable(string path)
    {
        if (HasChildren(path)) throw new IOException($"Storage path '{path}' is a directory");
        for (var slash = path.IndexOf('/'); slash >= 0; slash = path.IndexOf('/', slash + 1))
        {
            var ancestor = path[..slash];
            if (_objects.ContainsKey(ancestor)) throw new IOException($"Storage path '{ancestor}' is an object");
        }
    }

    private bool HasChildren(string path)
    {
        var prefix = path + "/";
        foreach (var key in _objects.Keys)
            if (key.StartsWith(prefix, StringComparison.Ordinal)) return true;
        return false;
    }
}
