using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace Registry.Core.Maintenance;

/// <summary>What a collection run may do.</summary>
/// <param name="DryRun">Mark and list what would go; change nothing in storage or search.</param>
/// <param name="DeleteUntagged">v2: a manifest revision no tag reaches (directly, as an index child, or as a referrer of a kept one) is not a root.</param>
public sealed record GcOptions(bool DryRun = false, bool DeleteUntagged = false);

public enum GcRunStatus { Completed, AlreadyRunning }

/// <summary>The outcome of a collection run: a report, or who else is collecting.</summary>
public sealed record GcRunResult(GcRunStatus Status, GcReport? Report, string? Holder = null);

/// <summary>Kinds of things a run deletes; the wire names are the <c>kind</c> of a <see cref="GcItem"/>.</summary>
public static class GcItemKind
{
    /// <summary>A V1 image directory no tag reaches (complete, or unfinished and past the upload age).</summary>
    public const string Image = "image";

    /// <summary>The <c>_index_images</c> list of a V1 repository without tags, older than the grace window.</summary>
    public const string IndexImages = "index_images";

    /// <summary>A v2 blob directory (<c>blobs/&lt;alg&gt;/&lt;xx&gt;/&lt;hex&gt;/</c>).</summary>
    public const string Blob = "blob";

    /// <summary>A repository's <c>_layers</c> link to a blob no kept manifest references.</summary>
    public const string LayerLink = "layer_link";

    /// <summary>An untagged manifest revision (with <c>--delete-untagged</c>), with its tag index entries.</summary>
    public const string Manifest = "manifest";

    /// <summary>An abandoned v2 upload session (<c>_uploads/&lt;uuid&gt;/</c>).</summary>
    public const string Upload = "upload";

    /// <summary>
    /// A mirrored repository not pulled within its upstream's retention: its manifests, tags, layer links and mirror
    /// records (docs/garbage-collection.md, 'Mirror retention'); its blobs go as blobs when nothing else references them.
    /// </summary>
    public const string CachedRepository = "cached_repository";
}

/// <summary>One thing that went (or would go): the storage path it occupied and its bytes (every object under it).</summary>
public sealed record GcItem(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("repository")] string Repository,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("bytes")] long Bytes);

/// <summary>
/// Per repository (V1 "ns/repo" or v2 name; "" for things no repository lists): counts and bytes. A blob or
/// image listed by several repositories is counted once, in the first by ordinal order, so the per-repository
/// bytes add up to the total.
/// </summary>
public sealed record GcRepositoryReport(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("images")] int Images,
    [property: JsonPropertyName("index_lists")] int IndexLists,
    [property: JsonPropertyName("blobs")] int Blobs,
    [property: JsonPropertyName("layer_links")] int LayerLinks,
    [property: JsonPropertyName("manifests")] int Manifests,
    [property: JsonPropertyName("uploads")] int Uploads,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("cached_repositories")] int CachedRepositories = 0);

/// <summary>
/// A run's record: what was marked, what went (or, in a dry run, would go), per repository and in total.
/// <see cref="Kept"/> counts unreferenced things kept because they are young, unfinished or within the upload age,
/// or touched by a writer during the run. <see cref="Items"/> lists the first <see cref="GcRun.ReportedItems"/> things
/// one by one and <see cref="ItemsOmitted"/> counts the rest, so a run's memory does not grow with what it deletes;
/// the per-repository counts and the totals cover every item.
/// </summary>
public sealed record GcReport(
    [property: JsonPropertyName("dry_run")] bool DryRun,
    [property: JsonPropertyName("delete_untagged")] bool DeleteUntagged,
    [property: JsonPropertyName("started_at")] DateTimeOffset StartedAt,
    [property: JsonPropertyName("duration_ms")] long DurationMs,
    [property: JsonPropertyName("grace_seconds")] long GraceSeconds,
    [property: JsonPropertyName("marked_images")] int MarkedImages,
    [property: JsonPropertyName("marked_blobs")] int MarkedBlobs,
    [property: JsonPropertyName("kept")] int Kept,
    [property: JsonPropertyName("repositories")] IReadOnlyList<GcRepositoryReport> Repositories,
    [property: JsonPropertyName("total_items")] int TotalItems,
    [property: JsonPropertyName("total_bytes")] long TotalBytes,
    [property: JsonPropertyName("items")] IReadOnlyList<GcItem> Items,
    [property: JsonPropertyName("items_omitted")] int ItemsOmitted = 0)
{
    /// <summary>The verb's output: one line per repository, then the totals.</summary>
    public string ToText()
    {
        var text = new StringBuilder();
        var verb = DryRun ? "would delete" : "deleted";
        foreach (var r in Repositories)
        {
            var parts = new List<string>();
            void Add(int count, string noun)
            {
                if (count > 0) parts.Add($"{count} {noun}{(count == 1 ? "" : "s")}");
            }
            // One repository per line: the count is 0 or 1.
            if (r.CachedRepositories > 0) parts.Add("the expired cached repository");
            Add(r.Images, "image");
            Add(r.IndexLists, "index list");
            Add(r.Manifests, "manifest");
            Add(r.LayerLinks, "layer link");
            Add(r.Blobs, "blob");
            Add(r.Uploads, "upload");
            text.Append(CultureInfo.InvariantCulture, $"{(r.Name.Length == 0 ? "(no repository)" : r.Name)}: {verb} {string.Join(", ", parts)} ({r.Bytes} bytes)\n");
        }
        text.Append(CultureInfo.InvariantCulture,
            $"{MarkedImages} V1 images and {MarkedBlobs} v2 blobs marked, {Kept} unreferenced kept (young, unfinished or in use), " +
            $"{TotalItems} items {verb}\n");
        text.Append(CultureInfo.InvariantCulture,
            $"{(DryRun ? "would free" : "freed")} {TotalBytes} bytes in {DurationMs} ms\n");
        return text.ToString();
    }
}

/// <summary>
/// A run's items as they are recorded: counts and bytes per repository and in total, and the first
/// <paramref name="listed"/> items themselves.
/// </summary>
internal sealed class GcTally(int listed)
{
    private readonly Dictionary<string, Tally> _repositories = new(StringComparer.Ordinal);

    // The counters of a repository, in the order of GcRepositoryReport's counts.
    private static readonly string[] Kinds =
        [GcItemKind.Image, GcItemKind.IndexImages, GcItemKind.Blob, GcItemKind.LayerLink, GcItemKind.Manifest, GcItemKind.Upload, GcItemKind.CachedRepository];

    /// <summary>One repository's deleted items by kind and their bytes.</summary>
    private sealed class Tally
    {
        public readonly int[] Counts = new int[Kinds.Length];
        public long Bytes;

        public GcRepositoryReport Report(string name) =>
            new(name, Counts[0], Counts[1], Counts[2], Counts[3], Counts[4], Counts[5], Bytes, Counts[6]);
    }

    public List<GcItem> Items { get; } = [];

    public int Count { get; private set; }

    public long Bytes { get; private set; }

    public void Add(GcItem item)
    {
        if (!_repositories.TryGetValue(item.Repository, out var tally)) _repositories[item.Repository] = tally = new Tally();
        var kind = Array.IndexOf(Kinds, item.Kind);
        if (kind >= 0) tally.Counts[kind]++;
        tally.Bytes += item.Bytes;
        Count++;
        Bytes += item.Bytes;
        if (Items.Count < listed) Items.Add(item);
    }

    public IReadOnlyList<GcRepositoryReport> Repositories() =>
        _repositories.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value.Report(r.Key)).ToList();
}
