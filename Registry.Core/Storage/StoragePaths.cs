using Registry.Core.Names;

namespace Registry.Core.Storage;

/// <summary>The one place that spells the original's storage layout (docs/storage-layout.md, 'V1 tree' and 'Name escaping').</summary>
public static class StoragePaths
{
    public const string ImagesDir = "images";
    public const string RepositoriesDir = "repositories";

    public static string ImageDir(ImageId id) => $"{ImagesDir}/{NameEscaping.EscapeComponent(id.Value)}";

    /// <summary>An unfinished image: written first on PUT json, deleted last on PUT checksum.</summary>
    public const string InProgressFile = "_inprogress";

    /// <summary>A repository's index image list, as <c>PUT /v1/repositories/&lt;ns&gt;/&lt;repo&gt;/images</c> writes it.</summary>
    public const string IndexImagesFile = "_index_images";

    public static string ImageJson(ImageId id) => $"{ImageDir(id)}/json";
    public static string ImageLayer(ImageId id) => $"{ImageDir(id)}/layer";
    public static string ImageAncestry(ImageId id) => $"{ImageDir(id)}/ancestry";
    public static string ImageChecksum(ImageId id) => $"{ImageDir(id)}/_checksum";
    public static string ImageInProgress(ImageId id) => $"{ImageDir(id)}/{InProgressFile}";
    public static string ImageFiles(ImageId id) => $"{ImageDir(id)}/_files";

    /// <summary>Our addition: the upstream's <c>X-Docker-Size</c> of an image a mirror holds without its layer yet.</summary>
    public static string ImageMirrorSize(ImageId id) => $"{ImageDir(id)}/_mirror_size";

    public static string NamespaceDir(string ns) => $"{RepositoriesDir}/{NameEscaping.EscapeComponent(ns)}";
    public static string RepositoryDir(RepositoryName name) =>
        $"{NamespaceDir(name.Namespace)}/{NameEscaping.EscapeComponent(name.Repository)}";

    public const string TagPrefix = "tag_";
    public static string Tag(RepositoryName name, string tag) => $"{RepositoryDir(name)}/{TagPrefix}{NameEscaping.EscapeComponent(tag)}";
    /// <summary>
    /// A <c>tag_&lt;t&gt;</c> file. (The metadata file of a tag named <c>_x</c> is <c>tag_x_json</c> and matches too;
    /// it only exists beside its tag file, so the listing rule is unaffected. Tag listings tell them apart by content.)
    /// </summary>
    public static bool IsTagFileName(string fileName) =>
        fileName.StartsWith(TagPrefix, StringComparison.Ordinal) && fileName.Length > TagPrefix.Length;

    /// <summary>The on-disk tag of a file that passed <see cref="IsTagFileName"/>.</summary>
    public static string TagOfFileName(string fileName) => fileName[TagPrefix.Length..];

    public static string TagJson(RepositoryName name, string tag) => $"{RepositoryDir(name)}/tag{NameEscaping.EscapeComponent(tag)}_json";
    public static string RepositoryJson(RepositoryName name) => $"{RepositoryDir(name)}/json";
    public static string IndexImages(RepositoryName name) => $"{RepositoryDir(name)}/{IndexImagesFile}";
    public const string PrivateFile = "_private";
    public static string Private(RepositoryName name) => $"{RepositoryDir(name)}/{PrivateFile}";

    /// <summary>Our addition: the repository description set through <c>PUT …/properties</c>, so a rebuild keeps it.</summary>
    public const string DescriptionFile = "_description";
    public static string Description(RepositoryName name) => $"{RepositoryDir(name)}/{DescriptionFile}";

    /// <summary>
    /// Our addition: a repository whose tags a mirror copied from its upstream (docs/configuration.md, 'V1 mirroring');
    /// holds the Unix time of the last copy. A local tag write deletes it: the repository is local from then on.
    /// </summary>
    public const string MirrorFile = "_mirror";
    public static string Mirror(RepositoryName name) => $"{RepositoryDir(name)}/{MirrorFile}";

    /// <summary>
    /// Our addition: the Unix time a mirror last copied the repository's <c>json</c> from its upstream
    /// (docs/configuration.md, 'V1 mirroring'); a local repository never consults it.
    /// </summary>
    public static string MirrorJson(RepositoryName name) => $"{RepositoryDir(name)}/_mirror_json";

    /// <summary>The last component of a storage path.</summary>
    public static string FileName(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>
    /// The logical repository name of an on-disk repository directory: each component unescaped once,
    /// so a scan agrees with the names the API produces at run time.
    /// </summary>
    public static RepositoryName RepositoryFromDisk(string nsComponent, string repoComponent) =>
        new(NameEscaping.Unquote(nsComponent), NameEscaping.Unquote(repoComponent));
}
