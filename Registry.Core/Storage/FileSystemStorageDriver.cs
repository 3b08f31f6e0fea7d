using System.IO.Enumeration;
using Registry.Core.IO;

namespace Registry.Core.Storage;

/// <summary>
/// Stores each key as a file under a root directory (the original's layout, docs/storage-layout.md, 'V1 tree').
/// Every key is validated by <see cref="StorageKey"/> and must resolve inside the root. Writes go to a
/// <see cref="StorageKey.TempPrefix"/> file in the target directory, are flushed to disk and then renamed
/// over the target, so readers see the old object or the new one, never a partial one; on Linux the directory
/// is then flushed too, so that the rename itself survives a power loss.
/// Symbolic links below the root are never followed: reads treat them as absent, writes, moves and deletes
/// that would pass through one throw <see cref="StoragePathException"/>. The root itself may be a link.
/// </summary>
public sealed class FileSystemStorageDriver : IStorageDriver, ITreeListing, ISubtreeReading
{
    private const int CopyBufferSize = Blocks.Size;

    // Bigger caller reads bypass this buffer; it only helps callers that read in small pieces.
    private const int ReadBufferSize = 64 * 1024;

    private static readonly EnumerationOptions ChildrenOptions = new()
    {
        // The default skips Hidden, and on Unix every dot-file is "hidden": "._foo" would vanish from listings.
        // Links are skipped here, where the enumerator knows them from the directory entry's type: asking an
        // entry for its Attributes instead costs an lstat (and a geteuid) per entry, most of a big scan's CPU.
        AttributesToSkip = FileAttributes.ReparsePoint,
        IgnoreInaccessible = true,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
    };

    private static readonly EnumerationOptions TreeOptions = new()
    {
        AttributesToSkip = FileAttributes.ReparsePoint,
        IgnoreInaccessible = true,
        RecurseSubdirectories = true,
        ReturnSpecialDirectories = false,
    };

    private readonly string _rootWithSeparator;

    public FileSystemStorageDriver(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        Directory.CreateDirectory(Root);
        _rootWithSeparator = Root.EndsWith(Path.DirectorySeparatorChar) ? Root : Root + Path.DirectorySeparatorChar;
    }

    /// <summary>Temp files last written before this are a previous process's leftovers (<see cref="CleanupTempAsync"/>).</summary>
    private readonly DateTime _openedAt = DateTime.UtcNow;

    /// <summary>The absolute root directory.</summary>
    public string Root { get; }

    public string Kind => "file";

    /// <summary>
    /// The validated absolute path of <paramref name="key"/>, for <c>SendFileAsync</c> or <c>X-Accel-Redirect</c>.
    /// Throws <see cref="StoragePathException"/> for an invalid key or one that passes through a symbolic link.
    /// The file may not exist.
    /// </summary>
    public string GetPhysicalPath(string key) => ResolveForWrite(key);

    public Task<byte[]?> GetContentAsync(string path, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return Task.FromCanceled<byte[]?>(ct);
        var full = ResolveForRead(path);
        if (full is null || !File.Exists(full)) return Task.FromResult<byte[]?>(null);
        try
        {
            // Stored content is small (manifests, links, image json): a synchronous read costs less than the thread
            // hand-over of an asynchronous one, which a collection pays once per image and manifest.
            return Task.FromResult<byte[]?>(File.ReadAllBytes(full));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<byte[]?>(null);
        }
    }

    public Task PutContentAsync(string path, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        var full = ResolveForWrite(path);
        return PublishAsync(full, async file =>
        {
            await file.WriteAsync(content, ct);
            return content.Length;
        }, ct);
    }

    public Task<long> WriteStreamAsync(string path, Stream source, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(source);
        var full = ResolveForWrite(path);
        return PublishAsync(full, file => CopyAsync(source, file, ct), ct);
    }

    public Task<Stream?> OpenReadAsync(string path, long offset, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var full = ResolveForRead(path);
        if (full is null || !File.Exists(full)) return Task.FromResult<Stream?>(null);
        try
        {
            // ReadWrite|Delete: a concurrent rename over the key or a delete must not fail an open reader.
            var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
                ReadBufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            if (offset > 0) stream.Seek(offset, SeekOrigin.Begin);
            return Task.FromResult<Stream?>(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task<bool> ExistsAsync(string path, CancellationToken ct)
    {
        var full = ResolveForRead(path);
        return Task.FromResult(full is not null && File.Exists(full));
    }

    public Task<long?> SizeAsync(string path, CancellationToken ct)
    {
        var full = ResolveForRead(path);
        if (full is null) return Task.FromResult<long?>(null);
        var info = new FileInfo(full);
        return Task.FromResult<long?>(info.Exists ? info.Length : null);
    }

    public Task<DateTimeOffset?> LastModifiedAsync(string path, CancellationToken ct)
    {
        var full = ResolveForRead(path);
        if (full is null) return Task.FromResult<DateTimeOffset?>(null);
        var info = new FileInfo(full);
        return Task.FromResult<DateTimeOffset?>(
            info.Exists ? new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero) : null);
    }

    public Task<IReadOnlyList<string>> ListAsync(string path, CancellationToken ct)
    {
        var full = ResolveForRead(path);
        if (full is null || !Directory.Exists(full)) return Task.FromResult<IReadOnlyList<string>>([]);
        return Task.FromResult<IReadOnlyList<string>>(Children(full, ct).Select(c => $"{path}/{c.Name}").ToList());
    }

    public Task<IReadOnlyList<(string Path, IReadOnlyList<string> Children)>> ListTwoLevelsAsync(string path, CancellationToken ct)
    {
        var full = ResolveForRead(path);
        if (full is null || !Directory.Exists(full)) return Task.FromResult<IReadOnlyList<(string, IReadOnlyList<string>)>>([]);
        var result = new List<(string, IReadOnlyList<string>)>();
        foreach (var (name, isDirectory) in Children(full, ct))
        {
            // The child passed the link filter of Children, so its own path needs no second check.
            var childPath = $"{path}/{name}";
            result.Add((childPath, isDirectory
                ? Children(Path.Combine(full, name), ct).Select(c => $"{childPath}/{c.Name}").ToList()
                : []));
        }
        return Task.FromResult<IReadOnlyList<(string, IReadOnlyList<string>)>>(result);
    }

    public Task<IReadOnlyList<StorageEntry>> ReadSubtreeAsync(string path, int contentLimit, ExpectedContent? expected, CancellationToken ct)
    {
        var full = ResolveForRead(path);
        if (full is null || !Directory.Exists(full)) return Task.FromResult<IReadOnlyList<StorageEntry>>([]);
        var entries = new List<StorageEntry>();
        try
        {
            // The same filters as Children, applied at every level: links are skipped (and not descended into), and so
            // are names no key could spell. Size and time come from the one stat the enumerator makes per entry.
            var walk = new FileSystemEnumerable<StorageEntry>(full, (ref FileSystemEntry e) =>
            {
                var relative = Path.Join(e.Directory[full.Length..], e.FileName).TrimStart(Path.DirectorySeparatorChar);
                var key = $"{path}/{relative.Replace(Path.DirectorySeparatorChar, '/')}";
                return e.IsDirectory
                    ? new StorageEntry(key, true, 0, null, null)
                    : new StorageEntry(key, false, e.Length, e.LastWriteTimeUtc, null);
            }, TreeOptions)
            {
                ShouldIncludePredicate = (ref FileSystemEntry e) => StorageKey.IsValidSegment(e.FileName),
                ShouldRecursePredicate = (ref FileSystemEntry e) => StorageKey.IsValidSegment(e.FileName),
            };
            foreach (var entry in walk)
            {
                ct.ThrowIfCancellationRequested();
                if (entry.IsDirectory || entry.Size > contentLimit)
                {
                    entries.Add(entry);
                    continue;
                }
                try
                {
                    entries.Add(entry with { Content = File.ReadAllBytes(Path.Combine(full, entry.Path[(path.Length + 1)..])) });
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    // Deleted since the listing: absent, as GetContentAsync would answer.
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
            return Task.FromResult<IReadOnlyList<StorageEntry>>([]);
        }
        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return Task.FromResult<IReadOnlyList<StorageEntry>>(entries);
    }

    /// <summary>
    /// The listable children of a directory, ordinal-sorted: temp files are in-flight writes, and links and names no
    /// key could spell are invisible to callers, so every listed path can be passed back to this driver.
    /// </summary>
    private static List<(string Name, bool IsDirectory)> Children(string full, CancellationToken ct)
    {
        var children = new List<(string Name, bool IsDirectory)>();
        try
        {
            var entries = new FileSystemEnumerable<(string, bool)>(full, (ref FileSystemEntry e) => (e.FileName.ToString(), e.IsDirectory), ChildrenOptions)
            {
                ShouldIncludePredicate = (ref FileSystemEntry e) => StorageKey.IsValidSegment(e.FileName),
            };
            foreach (var entry in entries)
            {
                ct.ThrowIfCancellationRequested();
                children.Add(entry);
            }
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
        children.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return children;
    }

    public Task<bool> DirectoryExistsAsync(string path, CancellationToken ct)
    {
        var full = ResolveForRead(path);
        if (full is null || !Directory.Exists(full)) return Task.FromResult(false);
        try
        {
            foreach (var file in Directory.EnumerateFiles(full, "*", TreeOptions))
            {
                ct.ThrowIfCancellationRequested();
                if (!StorageKey.IsTempName(Path.GetFileName(file.AsSpan()))) return Task.FromResult(true);
            }
        }
        catch (DirectoryNotFoundException)
        {
        }
        return Task.FromResult(false);
    }

    public Task MoveAsync(string from, string to, CancellationToken ct)
    {
        var source = ResolveForWrite(from);
        var target = ResolveForWrite(to);
        if (!File.Exists(source)) throw new FileNotFoundException($"Storage object '{from}' does not exist", from);
        if (Directory.Exists(target)) throw new IOException($"Storage path '{to}' is a directory");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Move(source, target, overwrite: true);
        return Task.CompletedTask;
    }

    public Task<bool> DeleteAsync(string path, CancellationToken ct)
    {
        var full = ResolveForWrite(path);
        if (File.Exists(full))
        {
            File.Delete(full);
            return Task.FromResult(true);
        }
        if (!Directory.Exists(full)) return Task.FromResult(false);
        try
        {
            // Unlinks symbolic links found inside without following them.
            Directory.Delete(full, recursive: true);
            return Task.FromResult(true);
        }
        catch (DirectoryNotFoundException)
        {
            return Task.FromResult(false);
        }
        catch (IOException e) when (e.HResult == DirectoryNotEmpty)
        {
            // A writer published into the directory while it was being emptied (a blob committed while the collector
            // deletes the old one of that digest): what it held when the delete began is gone, the new object stays,
            // as with a listing-then-delete on S3.
            return Task.FromResult(true);
        }
    }

    /// <summary>ENOTEMPTY on Linux, as .NET reports it in <see cref="Exception.HResult"/> when rmdir fails.</summary>
    private const int DirectoryNotEmpty = 39;

    public Task CleanupTempAsync(CancellationToken ct)
    {
        foreach (var file in Directory.EnumerateFiles(Root, StorageKey.TempPrefix + "*", TreeOptions))
        {
            ct.ThrowIfCancellationRequested();
            if (!StorageKey.IsTempName(Path.GetFileName(file.AsSpan()))) continue;
            try
            {
                // The walk may run while this process writes: a temp file it is still writing is younger than the driver.
                if (File.GetLastWriteTimeUtc(file) >= _openedAt) continue;
                File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Start-up must not fail over a leftover we cannot remove; it stays invisible to readers.
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// Writes through <paramref name="write"/> into a temp file next to <paramref name="target"/>, flushes it to
    /// disk and renames it over the target. On any failure the temp file is removed and nothing is published.
    /// </summary>
    private static async Task<long> PublishAsync(string target, Func<FileStream, Task<long>> write, CancellationToken ct)
    {
        if (Directory.Exists(target)) throw new IOException($"Storage path '{target}' is a directory");
        var dir = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, StorageKey.TempPrefix + Guid.NewGuid().ToString("N"));
        var published = false;
        try
        {
            long written;
            // bufferSize 0: callers already hand over large blocks, a second copy would only cost time.
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0,
                             FileOptions.Asynchronous | FileOptions.SequentialScan))
            {
                written = await write(file);
                file.Flush(flushToDisk: true);
            }
            // A cancellation that arrives after the last byte still means the caller gave up: publish nothing.
            ct.ThrowIfCancellationRequested();
            File.Move(temp, target, overwrite: true);
            published = true;
            DirectorySync.Flush(dir);
            return written;
        }
        finally
        {
            if (!published) TryDelete(temp);
        }
    }

    /// <summary>
    /// Copies in 1 MiB blocks, filling the block before each write so disk writes stay large, and starts writing
    /// them to disk as they go (<see cref="EarlyWriteback"/>), so the closing fsync is short.
    /// </summary>
    private static async Task<long> CopyAsync(Stream source, FileStream target, CancellationToken ct)
    {
        var writeback = new EarlyWriteback(target.SafeFileHandle);
        var buffer = Blocks.Rent();
        try
        {
            long total = 0;
            var filled = 0;
            while (true)
            {
                var n = await source.ReadAsync(buffer.AsMemory(filled, CopyBufferSize - filled), ct);
                if (n == 0) break;
                filled += n;
                total += n;
                if (filled < CopyBufferSize) continue;
                await target.WriteAsync(buffer.AsMemory(0, filled), ct);
                filled = 0;
                writeback.Written(total);
            }
            if (filled > 0) await target.WriteAsync(buffer.AsMemory(0, filled), ct);
            return total;
        }
        finally
        {
            Blocks.Return(buffer);
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // CleanupTempAsync removes it at the next start; the original error matters more.
        }
    }

    /// <summary>The full path, or null when a component below the root is a symbolic link (treated as absent).</summary>
    private string? ResolveForRead(string key)
    {
        var full = Resolve(key);
        return LinkComponent(full) is null ? full : null;
    }

    private string ResolveForWrite(string key)
    {
        var full = Resolve(key);
        var link = LinkComponent(full);
        if (link is not null)
            throw new StoragePathException($"Storage key '{key}' passes through the symbolic link '{link}'");
        return full;
    }

    private string Resolve(string key)
    {
        StorageKey.Validate(key);
        var full = Path.GetFullPath(Path.Combine(_rootWithSeparator, key));
        if (!full.StartsWith(_rootWithSeparator, StringComparison.Ordinal))
            throw new StoragePathException($"Storage key '{key}' leaves the storage root");
        return full;
    }

    /// <summary>The first existing component of <paramref name="full"/> below the root that is a symbolic link.</summary>
    private string? LinkComponent(string full)
    {
        // One walk answers the common case (no link); the loop names the link, or answers where the kernel cannot.
        if (full.Length > _rootWithSeparator.Length && NoSymlinkWalk.PassesThroughLink(Root, full[_rootWithSeparator.Length..]) == false) return null;
        var i = _rootWithSeparator.Length;
        while (i <= full.Length)
        {
            var next = full.IndexOf(Path.DirectorySeparatorChar, i);
            if (next < 0) next = full.Length;
            var component = full[..next];
            // readlink: one system call, null for a regular file, a directory or a missing path.
            if (new FileInfo(component).LinkTarget is not null) return component;
            i = next + 1;
        }
        return null;
    }
}
