using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.Tests.Storage;

public class StoragePathsTests
{
    private const string Id = "511136ea3c5a64f264b78b5433614aec563103b4d4702f3ba7d4d2698e22c158";

    private static ImageId ImageId()
    {
        Core.Names.ImageId.TryParse(Id, out var id).Should().BeTrue();
        return id;
    }

    private static RepositoryName Repo(string decoded)
    {
        RepositoryName.TryParse(decoded, out var name, out _).Should().BeTrue();
        return name;
    }

    [Test]
    public void Image_files_follow_the_originals_tree()
    {
        var id = ImageId();

        StoragePaths.ImageJson(id).Should().Be($"images/{Id}/json");
        StoragePaths.ImageLayer(id).Should().Be($"images/{Id}/layer");
        StoragePaths.ImageAncestry(id).Should().Be($"images/{Id}/ancestry");
        StoragePaths.ImageChecksum(id).Should().Be($"images/{Id}/_checksum");
        StoragePaths.ImageInProgress(id).Should().Be($"images/{Id}/_inprogress");
        StoragePaths.ImageFiles(id).Should().Be($"images/{Id}/_files");
    }

    [Test]
    public void Repository_files_follow_the_originals_tree()
    {
        var name = Repo("busybox");

        StoragePaths.Tag(name, "latest").Should().Be("repositories/library/busybox/tag_latest");
        StoragePaths.TagJson(name, "latest").Should().Be("repositories/library/busybox/taglatest_json");
        StoragePaths.RepositoryJson(name).Should().Be("repositories/library/busybox/json");
        StoragePaths.IndexImages(name).Should().Be("repositories/library/busybox/_index_images");
        StoragePaths.Private(name).Should().Be("repositories/library/busybox/_private");
    }

    [TestCase("ns/abcde%$_-test", "repositories/ns/abcde%2525%2524_-test")]
    [TestCase("a b/a b", "repositories/a+b/a%2Bb")]
    [TestCase("a/b/c", "repositories/a/b%252Fc")]
    [TestCase("../..", "repositories/%252E%252E/%252E%252E")]
    [TestCase("./.", "repositories/%252E/%252E")]
    public void Repository_directories_are_escaped_as_in_spec_7_3(string decoded, string dir) =>
        StoragePaths.RepositoryDir(Repo(decoded)).Should().Be(dir);

    [TestCase("..", "repositories/library/foo/tag_%252E%252E")]
    [TestCase("a b", "repositories/library/foo/tag_a+b")]
    [TestCase("x/y", "repositories/library/foo/tag_x%2Fy")]
    public void Tags_are_escaped_with_C(string tag, string path) =>
        StoragePaths.Tag(Repo("foo"), tag).Should().Be(path);

    [TestCase("ns/abcde%$_-test")]
    [TestCase("a b/a b")]
    [TestCase("a/b/c")]
    [TestCase("busybox")]
    public void A_directory_scan_recovers_the_logical_name(string decoded)
    {
        var name = Repo(decoded);
        var parts = StoragePaths.RepositoryDir(name).Split('/');

        StoragePaths.RepositoryFromDisk(parts[1], parts[2]).Should().Be(name);
    }

    [Test]
    public void Dot_names_share_their_on_disk_form_with_their_own_escapes()
    {
        // docs/storage-layout.md, 'Name escaping' defines EscapeComponent("..") as QuotePlus("%2E%2E"), so the mapping is not one-to-one: a scan cannot tell the
        // namespace ".." from the namespace "%2E%2E" and reports the latter.
        NameEscaping.EscapeComponent("..").Should().Be(NameEscaping.EscapeComponent("%2E%2E"));
        StoragePaths.RepositoryFromDisk("%252E%252E", "%252E").Should().Be(new RepositoryName("%2E%2E", "%2E"));
    }

    [TestCase("ns/abcde%$_-test")]
    [TestCase("../..")]
    [TestCase("a/b/c")]
    public async Task Every_layout_path_is_a_valid_storage_key(string decoded)
    {
        var driver = new InMemoryStorageDriver();
        var name = Repo(decoded);
        string[] keys =
        [
            StoragePaths.Tag(name, ".."), StoragePaths.TagJson(name, "."), StoragePaths.RepositoryJson(name),
            StoragePaths.Description(name), StoragePaths.ImageLayer(ImageId()),
        ];

        foreach (var key in keys) await driver.PutContentAsync(key, new byte[] { 1 }, CancellationToken.None);

        (await driver.ListAsync(StoragePaths.RepositoryDir(name), CancellationToken.None)).Should().HaveCount(4);
    }

    [TestCase("repositories/library/foo/tag_latest", "tag_latest")]
    [TestCase("top", "top")]
    public void FileName_is_the_last_component(string path, string name) => StoragePaths.FileName(path).Should().Be(name);
}
