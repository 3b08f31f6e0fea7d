using System.Security.Cryptography;
using System.Text;
using Registry.Bench.Http;

namespace Registry.Bench.Maintenance;

/// <summary>What the seed wrote: the kept and the garbage things, by storage path relative to the storage root.</summary>
internal sealed class GcSeedResult
{
    /// <summary>Tagged V1 repositories ("bench/r&lt;c&gt;") with the image their tag names.</summary>
    public List<(string Repository, string TopImage)> V1Tagged { get; } = [];

    public List<string> V1GarbageImages { get; } = [];

    public int V1Images { get; set; }

    /// <summary>Tagged v2 repositories ("bench/v&lt;g&gt;") with their manifest's digest and its blobs (config and layers).</summary>
    public List<(string Repository, string Manifest, string[] Blobs)> V2Tagged { get; } = [];

    /// <summary>Digests ("sha256:hex") of the blobs nothing references.</summary>
    public List<string> V2GarbageBlobs { get; } = [];

    /// <summary>Layer links of garbage repositories (relative paths of their link directories).</summary>
    public List<string> V2GarbageLinks { get; } = [];

    public int V2Blobs { get; set; }
}

/// <summary>The seed's shape, from the options both GC benchmarks take (<c>gc</c>, <c>gc-s3</c>).</summary>
internal sealed record GcSeedShape(int Images, int Chain, double Untagged, int Blobs, double Garbage, int LayerBytes)
{
    public static readonly string[] Options = ["--images", "--blobs", "--chain", "--untagged", "--garbage", "--layer-bytes"];

    /// <summary><paramref name="count"/>: the default number of V1 images and of v2 blobs.</summary>
    public static GcSeedShape Parse(BenchArgs options, int count) => new(
        options.GetInt("--images", count, 0, int.MaxValue),
        options.GetInt("--chain", 10, 1, 100_000),
        options.GetDouble("--untagged", 0.5, 0, 1),
        options.GetInt("--blobs", count, 0, int.MaxValue),
        options.GetDouble("--garbage", 0.5, 0, 1),
        options.GetInt("--layer-bytes", 1024, 0, 1 << 24));

    public GcSeedResult Write(string storageRoot, CancellationToken ct) =>
        GcSeed.Write(storageRoot, Images, Chain, Untagged, Blobs, Garbage, LayerBytes, ct);
}

/// <summary>
/// Writes a storage for the collector directly as files, in the layouts the registry reads (docs/storage-layout.md,
/// 'V1 tree' and 'V2 tree'), without the driver's flush per object: a 100k seed in seconds rather than minutes.
/// The benchmark proves the layout right by reading a sample back through the registry's HTTP API.
/// <list type="bullet">
/// <item>V1: chains of images (json, layer, ancestry, _checksum), one tagged repository per chain; a share of the
/// chains untagged (garbage).</item>
/// <item>v2: groups of five blobs (a schema 2 manifest, its config, three layers of its own) plus a pool of shared base
/// layers every manifest also references. A kept group is a repository with its tag, revision and layer links; a
/// garbage group is either a repository whose manifest was deleted (layer links left) or blobs with no repository
/// at all (a repository removed with <c>rm -rf</c>).</item>
/// </list>
/// </summary>
internal static class GcSeed
{
    public const int SharedLayers = 64;
    public const int BlobsPerGroup = 5;

    private const string V2Root = "docker/registry/v2";
    private const string ManifestType = "application/vnd.docker.distribution.manifest.v2+json";
    private const string ConfigType = "application/vnd.docker.container.image.v1+json";
    private const string LayerType = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    public static GcSeedResult Write(string storageRoot, int images, int chain, double untagged, int blobs, double garbage, int layerBytes, CancellationToken ct)
    {
        var result = new GcSeedResult();
        var options = new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct };

        var chains = images / chain;
        var untaggedChains = (int)Math.Round(chains * untagged);
        var v1 = new (string Repository, string Top, List<string> Ids)[chains];
        Parallel.For(0, chains, options, c => v1[c] = WriteChain(storageRoot, c, chain, c >= untaggedChains, layerBytes));
        foreach (var (repository, top, ids) in v1)
        {
            if (repository.Length > 0) result.V1Tagged.Add((repository, top));
            else result.V1GarbageImages.AddRange(ids);
        }
        result.V1Images = chains * chain;

        if (blobs >= SharedLayers + BlobsPerGroup)
        {
            var shared = new string[SharedLayers];
            Parallel.For(0, SharedLayers, options, i => shared[i] = WriteBlob(storageRoot, Bytes(1_000_000 + i, layerBytes)));
            var groups = (blobs - SharedLayers) / BlobsPerGroup;
            var garbageGroups = (int)Math.Round(groups * garbage);
            var v2 = new (string Repository, string Manifest, string[] Blobs, string[] Links)[groups];
            Parallel.For(0, groups, options, g => v2[g] = WriteGroup(storageRoot, g, shared[g % SharedLayers], g < garbageGroups, layerBytes));
            foreach (var (repository, manifest, groupBlobs, links) in v2)
            {
                if (links.Length == 0 && repository.Length > 0) result.V2Tagged.Add((repository, manifest, groupBlobs));
                else
                {
                    result.V2GarbageBlobs.Add(manifest);
                    result.V2GarbageBlobs.AddRange(groupBlobs);
                    result.V2GarbageLinks.AddRange(links);
                }
            }
            result.V2Blobs = SharedLayers + groups * BlobsPerGroup;
        }
        return result;
    }

    /// <summary>A chain of <paramref name="length"/> images, the last tagged as <c>bench/r&lt;c&gt;:latest</c> when kept.</summary>
    private static (string Repository, string Top, List<string> Ids) WriteChain(string root, int c, int length, bool tagged, int layerBytes)
    {
        var random = new Random(c);
        var ids = new List<string>(length);
        var ancestry = new StringBuilder();
        string? parent = null;
        for (var i = 0; i < length; i++)
        {
            var id = Hex(random);
            var dir = Path.Combine(root, "images", id);
            Directory.CreateDirectory(dir);
            ancestry.Insert(0, ids.Count == 0 ? $"\"{id}\"" : $"\"{id}\", ");
            File.WriteAllText(Path.Combine(dir, "json"), parent is null ? $"{{\"id\":\"{id}\"}}" : $"{{\"id\":\"{id}\",\"parent\":\"{parent}\"}}");
            File.WriteAllBytes(Path.Combine(dir, "layer"), Bytes(random.Next(), layerBytes));
            File.WriteAllText(Path.Combine(dir, "ancestry"), "[" + ancestry + "]");
            File.WriteAllText(Path.Combine(dir, "_checksum"), "[\"sha256:" + new string('0', 64) + "\"]");
            ids.Add(id);
            parent = id;
        }
        if (!tagged) return ("", parent!, ids);
        var repository = $"bench/r{c}";
        var repoDir = Path.Combine(root, "repositories", "bench", $"r{c}");
        Directory.CreateDirectory(repoDir);
        File.WriteAllText(Path.Combine(repoDir, "tag_latest"), parent);
        return (repository, parent!, ids);
    }

    /// <summary>
    /// One manifest with its config and three layers (and one shared base layer); kept groups get a repository
    /// <c>bench/v&lt;g&gt;</c> with tag <c>latest</c>. Returns the manifest digest, the group's other blobs and, for
    /// garbage, the layer links left behind (an empty array for a kept group).
    /// </summary>
    private static (string Repository, string Manifest, string[] Blobs, string[] Links) WriteGroup(string root, int g, string sharedLayer, bool isGarbage, int layerBytes)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[]}},\"bench\":{g}}}");
        var configDigest = WriteBlob(root, config);
        var layers = new string[3];
        for (var i = 0; i < layers.Length; i++) layers[i] = WriteBlob(root, Bytes(g * 4 + i, layerBytes));
        var layerRefs = string.Join(",", layers.Prepend(sharedLayer).Select(d => $"{{\"mediaType\":\"{LayerType}\",\"size\":{layerBytes},\"digest\":\"{d}\"}}"));
        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{ManifestType}\",\"config\":{{\"mediaType\":\"{ConfigType}\",\"size\":{config.Length},\"digest\":\"{configDigest}\"}},\"layers\":[{layerRefs}]}}");
        var manifestDigest = WriteBlob(root, manifest);
        var groupBlobs = layers.Prepend(configDigest).ToArray();

        // Garbage: every other group keeps its repository's layer links (its manifest was deleted), the rest has none.
        if (isGarbage && g % 2 == 1) return ("", manifestDigest, groupBlobs, []);
        var repository = $"bench/v{g}";
        var repoDir = Path.Combine(root, V2Root, "repositories", "bench", $"v{g}");
        var links = new List<string>();
        foreach (var digest in groupBlobs.Append(sharedLayer))
            links.Add(WriteLink(repoDir, $"_layers/sha256/{digest[7..]}", digest));
        if (isGarbage) return ("", manifestDigest, groupBlobs, links.Take(groupBlobs.Length).Select(l => Path.GetRelativePath(root, l)).ToArray());
        WriteLink(repoDir, $"_manifests/revisions/sha256/{manifestDigest[7..]}", manifestDigest);
        WriteLink(repoDir, "_manifests/tags/latest/current", manifestDigest);
        WriteLink(repoDir, $"_manifests/tags/latest/index/sha256/{manifestDigest[7..]}", manifestDigest);
        return (repository, manifestDigest, groupBlobs, []);
    }

    /// <summary>Writes <c>blobs/sha256/xx/hex/data</c>; the digest.</summary>
    private static string WriteBlob(string root, byte[] content)
    {
        var hex = Convert.ToHexStringLower(SHA256.HashData(content));
        var dir = Path.Combine(root, V2Root, "blobs", "sha256", hex[..2], hex);
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "data"), content);
        return "sha256:" + hex;
    }

    /// <summary>Writes <c>&lt;dir&gt;/link</c> holding the digest (no newline); the link's directory.</summary>
    private static string WriteLink(string repoDir, string dir, string digest)
    {
        var full = Path.Combine(repoDir, dir);
        Directory.CreateDirectory(full);
        File.WriteAllText(Path.Combine(full, "link"), digest);
        return full;
    }

    /// <summary>The blob directory of a digest, relative to the storage root.</summary>
    public static string BlobDir(string digest) => $"{V2Root}/blobs/sha256/{digest[7..9]}/{digest[7..]}";

    private static string Hex(Random random)
    {
        Span<byte> bytes = stackalloc byte[32];
        random.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    private static byte[] Bytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
