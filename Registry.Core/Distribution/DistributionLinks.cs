using System.Text;
using Registry.Core.Storage;

namespace Registry.Core.Distribution;

/// <summary>
/// Link files of the distribution layout: the target digest as ASCII, no newline (docs/storage-layout.md, 'V2 file formats'). Readers trim
/// and validate; a link whose content is not a digest, or whose target data is missing, counts as absent.
/// </summary>
public static class DistributionLinks
{
    public static async Task<Digest?> ReadAsync(IStorageDriver storage, string path, CancellationToken ct)
    {
        var bytes = await storage.GetContentAsync(path, ct);
        return bytes is null ? null : Parse(bytes);
    }

    /// <summary>The digest a link file's content names, or null when it names none.</summary>
    public static Digest? Parse(byte[] content) => Digest.ParseOrNull(Encoding.ASCII.GetString(content).Trim());

    public static Task WriteAsync(IStorageDriver storage, string path, Digest target, CancellationToken ct) =>
        storage.PutContentAsync(path, Encoding.ASCII.GetBytes(target.ToString()), ct);

    /// <summary>The link's target when both the link and the target's data exist.</summary>
    public static async Task<Digest?> ResolveAsync(IStorageDriver storage, string linkPath, CancellationToken ct)
    {
        var target = await ReadAsync(storage, linkPath, ct);
        return target is not null && await storage.ExistsAsync(DistributionPaths.BlobData(target), ct) ? target : null;
    }
}
