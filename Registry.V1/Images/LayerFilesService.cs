using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Registry.Core.Http;
using Registry.Core.IO;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.V1.Images;

public enum LayerFilesOutcome { Ok, NotFound, Unsupported }

public sealed record LayerFiles(LayerFilesOutcome Outcome, byte[]? Json);

/// <summary>
/// <c>GET /v1/images/{id}/files</c> (Docker Registry HTTP API V1, 'Images'): one entry per tar member, computed by streaming the layer
/// through a tar reader and cached in <c>_files</c>. Gzip and plain tar are read; bzip2 and xz layers
/// (which docker never produced for V1 pushes) are reported as unsupported.
/// </summary>
public sealed class LayerFilesService(IStorageDriver storage)
{
    public async Task<LayerFiles> GetFilesAsync(ImageId id, CancellationToken ct)
    {
        var cached = await storage.GetContentAsync(StoragePaths.ImageFiles(id), ct);
        if (cached is not null) return new LayerFiles(LayerFilesOutcome.Ok, cached);
        if (!await storage.ExistsAsync(StoragePaths.ImageJson(id), ct)) return new LayerFiles(LayerFilesOutcome.NotFound, null);
        await using var layer = await storage.OpenReadAsync(StoragePaths.ImageLayer(id), 0, ct);
        if (layer is null) return new LayerFiles(LayerFilesOutcome.NotFound, null);

        var entries = await ReadEntriesAsync(layer, ct);
        if (entries is null) return new LayerFiles(LayerFilesOutcome.Unsupported, null);
        var json = Encoding.UTF8.GetBytes(PyJson.Serialize(entries));
        await storage.PutContentAsync(StoragePaths.ImageFiles(id), json, ct);
        return new LayerFiles(LayerFilesOutcome.Ok, json);
    }

    private static async Task<JsonArray?> ReadEntriesAsync(Stream layer, CancellationToken ct)
    {
        var buffered = new BufferedStream(layer, 64 * 1024);
        var magic = new byte[6];
        var n = await buffered.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, ct);
        // The magic bytes are consumed; put them back in front of the rest.
        var prefixed = new PrefixedStream(magic.AsMemory(0, n), buffered);
        Stream tar = n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(prefixed, CompressionMode.Decompress) : prefixed;
        if (n >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h') return null;
        if (n >= 6 && magic[0] == 0xFD && magic[1] == '7' && magic[2] == 'z' && magic[3] == 'X' && magic[4] == 'Z' && magic[5] == 0) return null;

        var result = new JsonArray();
        try
        {
            await using var reader = new TarReader(tar);
            while (await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                var item = Describe(entry);
                if (item is not null) result.Add(item);
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or ArgumentException)
        {
            return null;
        }
        return result;
    }

    private static JsonArray? Describe(TarEntry entry)
    {
        var path = entry.Name;
        if (path == ".") path = "/";
        else if (path.StartsWith("./", StringComparison.Ordinal)) path = "/" + path[2..];
        var deleted = false;
        if (path.StartsWith("/.wh.", StringComparison.Ordinal))
        {
            path = "/" + path["/.wh.".Length..];
            deleted = true;
            if (path.StartsWith("/.wh.", StringComparison.Ordinal)) return null;
        }
        return new JsonArray(
            path,
            TypeLetter(entry.EntryType),
            deleted,
            entry.Length,
            entry.ModificationTime.ToUnixTimeSeconds(),
            (int)entry.Mode,
            entry.Uid,
            entry.Gid);
    }

    private static string TypeLetter(TarEntryType type) => type switch
    {
        TarEntryType.RegularFile or TarEntryType.V7RegularFile => "f",
        TarEntryType.HardLink => "l",
        TarEntryType.SymbolicLink => "s",
        TarEntryType.CharacterDevice => "c",
        TarEntryType.BlockDevice => "b",
        TarEntryType.Directory => "d",
        TarEntryType.Fifo => "i",
        TarEntryType.ContiguousFile => "t",
        TarEntryType.LongPath => "L",
        TarEntryType.LongLink => "K",
        TarEntryType.SparseFile => "S",
        _ => "u",
    };

    /// <summary>A read-only stream that first returns bytes already consumed from the inner stream.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : ReadOnlyStream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override int Read(Span<byte> buffer)
        {
            if (_prefix.IsEmpty) return inner.Read(buffer);
            var n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_prefix.IsEmpty) return await inner.ReadAsync(buffer, cancellationToken);
            return Read(buffer.Span);
        }
    }
}
