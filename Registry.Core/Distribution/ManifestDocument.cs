using System.Text.Json;

namespace Registry.Core.Distribution;

/// <summary>One descriptor of a manifest: what it points at. <see cref="Digest"/> is null when the text is not a valid digest.</summary>
public sealed record Descriptor(string? MediaType, string DigestText, Digest? Digest, long? Size, IReadOnlyList<string> Urls);

/// <summary>
/// The parts of a stored or pushed manifest the registry reads (OCI image-spec, media types): its kind, the descriptors
/// it references (config, layers, index children) and its subject. The bytes themselves are never
/// re-serialized; this is a read-only view of them.
/// </summary>
public sealed record ManifestDocument(
    int SchemaVersion,
    string? BodyMediaType,
    string MediaType,
    Descriptor? Config,
    IReadOnlyList<Descriptor> Layers,
    IReadOnlyList<Descriptor> Manifests,
    Descriptor? Subject,
    string? ArtifactType)
{
    public const string DockerV2 = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string DockerV1 = "application/vnd.docker.distribution.manifest.v1+json";
    public const string DockerV1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    /// <summary>The names of the body's top-level properties (whatever their values), for the field-shape checks of a PUT.</summary>
    public IReadOnlySet<string> Properties { get; init; } = new HashSet<string>();

    /// <summary>True for a manifest list or an OCI index (children are manifests).</summary>
    public bool IsIndex => MediaType is DockerList or OciIndex;

    /// <summary>Every digest this manifest keeps alive for garbage collection: config, layers, index children (not the subject).</summary>
    public IEnumerable<Digest> References()
    {
        if (Config?.Digest is { } config) yield return config;
        foreach (var layer in Layers)
            if (layer.Digest is { } d) yield return d;
        foreach (var child in Manifests)
            if (child.Digest is { } d) yield return d;
    }

    /// <summary>
    /// Parses manifest bytes. Null when they are not a JSON object. The media type comes from the body's
    /// <c>mediaType</c>; without it, a <c>manifests</c> array means an OCI index, else an OCI manifest;
    /// <c>schemaVersion</c> 1 means schema 1.
    /// </summary>
    public static ManifestDocument? TryParse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 64 });
            using var json = JsonDocument.ParseValue(ref reader);
            return FromJson(json.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ManifestDocument? FromJson(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) return null;
        var schema = root.TryGetProperty("schemaVersion", out var sv) && sv.ValueKind == JsonValueKind.Number && sv.TryGetInt32(out var v) ? v : 0;
        var bodyType = root.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null;
        var manifests = ReadList(root, "manifests");
        var mediaType = schema == 1 ? DockerV1Signed
            : bodyType ?? (root.TryGetProperty("manifests", out var m) && m.ValueKind == JsonValueKind.Array ? OciIndex : OciManifest);
        return new ManifestDocument(
            schema,
            bodyType,
            mediaType,
            root.TryGetProperty("config", out var config) ? ReadDescriptor(config) : null,
            ReadList(root, "layers"),
            manifests,
            root.TryGetProperty("subject", out var subject) ? ReadDescriptor(subject) : null,
            root.TryGetProperty("artifactType", out var at) && at.ValueKind == JsonValueKind.String ? at.GetString() : null)
        {
            Properties = root.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal),
        };
    }

    private static IReadOnlyList<Descriptor> ReadList(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array) return [];
        var list = new List<Descriptor>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
            if (ReadDescriptor(item) is { } d) list.Add(d);
        return list;
    }

    private static Descriptor? ReadDescriptor(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) return null;
        var digestText = e.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
        var urls = new List<string>();
        if (e.TryGetProperty("urls", out var u) && u.ValueKind == JsonValueKind.Array)
            foreach (var url in u.EnumerateArray())
                if (url.ValueKind == JsonValueKind.String) urls.Add(url.GetString()!);
        return new Descriptor(
            e.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null,
            digestText,
            Digest.ParseOrNull(digestText),
            e.TryGetProperty("size", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var size) ? size : null,
            urls);
    }
}
