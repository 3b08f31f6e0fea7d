namespace Registry.Core.Distribution;

/// <summary>
/// The Go registry's ("distribution") storage layout (docs/storage-layout.md, 'V2 tree'), beside the V1 layout under the same
/// storage root, so that a <c>/var/lib/registry</c> of <c>registry:2</c> is served as is. Only this class
/// spells it. Names and tags must have passed <see cref="DistributionName"/>, digests <see cref="Digest.TryParse"/>.
/// </summary>
public static class DistributionPaths
{
    public const string Root = "docker/registry/v2";
    public const string BlobsDir = Root + "/blobs";
    public const string RepositoriesDir = Root + "/repositories";

    /// <summary>The data directories of a repository; any of them makes a directory a repository.</summary>
    public const string ManifestsDirName = "_manifests";
    public const string LayersDirName = "_layers";
    public const string UploadsDirName = "_uploads";

    /// <summary>The file inside a <c>&lt;alg&gt;/&lt;hex&gt;</c> directory (revisions, layers, tag index) that holds the target digest.</summary>
    public const string LinkFile = "link";

    /// <summary>A tag directory's children: <c>current/link</c> names what the tag points to, <c>index/</c> its history.</summary>
    public const string TagCurrentDirName = "current";
    public const string TagIndexDirName = "index";

    /// <summary>The file of an upload session that records when it began; it is written last, so it makes the session exist.</summary>
    public const string StartedAtFile = "startedat";

    /// <summary>Where a blob's bytes live: <c>blobs/&lt;alg&gt;/&lt;hex[0:2]&gt;/&lt;hex&gt;/data</c>.</summary>
    public static string BlobData(Digest d) => $"{BlobDir(d)}/data";

    public static string BlobDir(Digest d) => $"{BlobsDir}/{d.Algorithm}/{d.Hex[..2]}/{d.Hex}";

    public static string RepositoryDir(string name) => $"{RepositoriesDir}/{name}";

    public static string LayersDir(string name) => $"{RepositoryDir(name)}/{LayersDirName}";

    /// <summary>The directory of the repository's link to a blob it may serve (the link and nothing else).</summary>
    public static string LayerLinkDir(string name, Digest d) => $"{LayersDir(name)}/{d.Algorithm}/{d.Hex}";

    /// <summary>The repository's link to a blob it may serve.</summary>
    public static string LayerLink(string name, Digest d) => $"{LayerLinkDir(name, d)}/{LinkFile}";

    public static string ManifestsDir(string name) => $"{RepositoryDir(name)}/{ManifestsDirName}";

    public static string RevisionsDir(string name) => $"{ManifestsDir(name)}/revisions";

    public static string RevisionLinkDir(string name, Digest d) => $"{RevisionsDir(name)}/{d.Algorithm}/{d.Hex}";

    public static string RevisionLink(string name, Digest d) => $"{RevisionLinkDir(name, d)}/{LinkFile}";

    public static string TagsDir(string name) => $"{ManifestsDir(name)}/tags";

    public static string TagDir(string name, string tag) => $"{TagsDir(name)}/{tag}";

    public static string TagCurrentLink(string name, string tag) => $"{TagDir(name, tag)}/{TagCurrentDirName}/{LinkFile}";

    public static string TagIndexLink(string name, string tag, Digest d) => $"{TagIndexDir(name, tag)}/{d.Algorithm}/{d.Hex}/{LinkFile}";

    /// <summary>The tag's history: one <c>&lt;alg&gt;/&lt;hex&gt;/link</c> per manifest the tag has pointed to.</summary>
    public static string TagIndexDir(string name, string tag) => $"{TagDir(name, tag)}/{TagIndexDirName}";

    public static string UploadsDir(string name) => $"{RepositoryDir(name)}/{UploadsDirName}";

    public static string UploadDir(string name, string uuid) => $"{UploadsDir(name)}/{uuid}";

    public static string UploadData(string name, string uuid) => $"{UploadDir(name, uuid)}/data";

    public static string UploadStartedAt(string name, string uuid) => $"{UploadDir(name, uuid)}/{StartedAtFile}";

    /// <summary>
    /// The pull-through cache's records of a repository fetched from an upstream (docs/storage-layout.md, 'Mirror records'):
    /// which upstream it mirrors and when each tag was last checked. A repository with manifests and without this
    /// folder was pushed here and is local.
    /// </summary>
    public static string ProxyDir(string name) => $"{RepositoryDir(name)}/{ProxyDirName}";

    public const string ProxyDirName = "_proxy";

    /// <summary>The record that makes a repository a cached one: the upstream URL and the name there.</summary>
    public static string ProxyUpstream(string name) => $"{ProxyDir(name)}/upstream";

    /// <summary>
    /// When the cached repository was last pulled (Unix seconds, ASCII), written at most once an hour per repository;
    /// garbage collection expires cached repositories by it (docs/garbage-collection.md, 'Mirror retention').
    /// </summary>
    public static string ProxyLastPull(string name) => $"{ProxyDir(name)}/lastpull";

    /// <summary>When the tag was last compared with the upstream (Unix seconds, ASCII).</summary>
    public static string ProxyTagChecked(string name, string tag) => $"{ProxyDir(name)}/tags/{tag}";

    /// <summary>The last path component.</summary>
    public static string FileName(string path) => path[(path.LastIndexOf('/') + 1)..];
}
