using System.Globalization;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Registry.Core.Concurrency;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.Core.Maintenance;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Search;
using Registry.V1.Maintenance;

namespace Registry.Tests.Support;

/// <summary>Storage snapshots, file-time backdating, a v2 layout seeder and a collector over a test registry's services.</summary>
public static class GcTestKit
{
    /// <summary>Every file under the storage root: relative path, size and modification time.</summary>
    public static SortedDictionary<string, (long Size, DateTime Modified)> Snapshot(string root)
    {
        var files = new SortedDictionary<string, (long, DateTime)>(StringComparer.Ordinal);
        if (!Directory.Exists(root)) return files;
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(file);
            files[Path.GetRelativePath(root, file).Replace('\\', '/')] = (info.Length, info.LastWriteTimeUtc);
        }
        return files;
    }

    /// <summary>The bytes of every file under a storage path (a directory or a file).</summary>
    public static long Bytes(string root, string storagePath)
    {
        var full = Path.Combine(root, storagePath);
        if (File.Exists(full)) return new FileInfo(full).Length;
        return Directory.Exists(full) ? Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;
    }

    /// <summary>Sets the modification time of every file under a storage path to <paramref name="age"/> ago.</summary>
    public static void Backdate(string root, string storagePath, TimeSpan age)
    {
        var full = Path.Combine(root, storagePath);
        var when = DateTime.UtcNow - age;
        if (File.Exists(full))
        {
            File.SetLastWriteTimeUtc(full, when);
            return;
        }
        foreach (var file in Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories)) File.SetLastWriteTimeUtc(file, when);
    }

    /// <summary>A collector over the registry's own storage, coordinator, catalog and membership, with other settings.</summary>
    public static GarbageCollector Collector(TestRegistry registry, GcSettings settings) => new(
        registry.Storage,
        registry.Services.GetRequiredService<IGcCoordinator>(),
        registry.Services.GetRequiredService<RepositoryCatalog>(),
        registry.Services.GetRequiredService<IRepositoryImages>(),
        settings,
        NullLogger<GarbageCollector>.Instance);

    public static async Task<GcReport> RunAsync(this GarbageCollector collector, bool dryRun = false, bool deleteUntagged = false)
    {
        var result = await collector.RunAsync(new GcOptions(dryRun, deleteUntagged), CancellationToken.None);
        result.Status.Should().Be(GcRunStatus.Completed, result.Holder);
        return result.Report!;
    }

    public static IEnumerable<string> Ids(this GcReport report, string kind) =>
        report.Items.Where(i => i.Kind == kind).Select(i => i.Id).Order(StringComparer.Ordinal);

    public static long BytesOf(this GcReport report, string kind) => report.Items.Where(i => i.Kind == kind).Sum(i => i.Bytes);

    public static async Task<IReadOnlyList<string>> SearchNamesAsync(HttpClient client, string query)
    {
        var (status, body) = await client.GetAsync("/v1/search?q=" + query).ReadAsync();
        status.Should().Be(200, body);
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()!).Order(StringComparer.Ordinal).ToList();
    }
}

/// <summary>Writes the distribution layout directly through a storage driver, as the v2 routes do (data first, links last).</summary>
public sealed class V2Seeder(IStorageDriver storage)
{
    public async Task<Digest> BlobAsync(byte[] content)
    {
        var digest = Digest.Compute("sha256", content);
        await storage.PutContentAsync(DistributionPaths.BlobData(digest), content, CancellationToken.None);
        return digest;
    }

    public Task<Digest> BlobAsync(string content) => BlobAsync(Encoding.UTF8.GetBytes(content));

    public Task LinkAsync(string repository, Digest digest) =>
        DistributionLinks.WriteAsync(storage, DistributionPaths.LayerLink(repository, digest), digest, CancellationToken.None);

    /// <summary>An image manifest over a config and layers: blobs, layer links, the revision and (optionally) a tag.</summary>
    public async Task<Digest> ImageAsync(string repository, string? tag, Digest config, params Digest[] layers)
    {
        var manifest = ManifestJson(ManifestDocument.DockerV2, config, layers, null);
        foreach (var d in layers.Append(config)) await LinkAsync(repository, d);
        return await ManifestAsync(repository, tag, manifest);
    }

    /// <summary>Manifest bytes as a blob, the revision link and (optionally) the tag's index and current links.</summary>
    public async Task<Digest> ManifestAsync(string repository, string? tag, string manifest)
    {
        var digest = await BlobAsync(manifest);
        await DistributionLinks.WriteAsync(storage, DistributionPaths.RevisionLink(repository, digest), digest, CancellationToken.None);
        if (tag is not null) await TagAsync(repository, tag, digest);
        return digest;
    }

    public async Task TagAsync(string repository, string tag, Digest digest)
    {
        await DistributionLinks.WriteAsync(storage, DistributionPaths.TagIndexLink(repository, tag, digest), digest, CancellationToken.None);
        await DistributionLinks.WriteAsync(storage, DistributionPaths.TagCurrentLink(repository, tag), digest, CancellationToken.None);
    }

    public async Task UploadAsync(string repository, string uuid, DateTimeOffset startedAt, byte[] data)
    {
        await storage.PutContentAsync(DistributionPaths.UploadStartedAt(repository, uuid),
            Encoding.ASCII.GetBytes(startedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)), CancellationToken.None);
        await storage.PutContentAsync(DistributionPaths.UploadData(repository, uuid), data, CancellationToken.None);
    }

    public static string ManifestJson(string mediaType, Digest? config, IEnumerable<Digest> layersOrChildren, Digest? subject)
    {
        static string Descriptor(string type, Digest d) => $"{{\"mediaType\":\"{type}\",\"digest\":\"{d}\",\"size\":1}}";
        var parts = new List<string> { "\"schemaVersion\":2", $"\"mediaType\":\"{mediaType}\"" };
        if (mediaType is ManifestDocument.OciIndex or ManifestDocument.DockerList)
            parts.Add($"\"manifests\":[{string.Join(",", layersOrChildren.Select(d => Descriptor(ManifestDocument.OciManifest, d)))}]");
        else
        {
            parts.Add($"\"config\":{Descriptor("application/vnd.oci.image.config.v1+json", config!)}");
            parts.Add($"\"layers\":[{string.Join(",", layersOrChildren.Select(d => Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", d)))}]");
        }
        if (subject is not null) parts.Add($"\"subject\":{Descriptor(ManifestDocument.OciManifest, subject)}");
        return "{" + string.Join(",", parts) + "}";
    }
}
