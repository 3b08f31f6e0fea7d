using Registry.Tests.Support;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.Tests.Storage;

/// <summary>The one walk of the V1 layout over a real directory, with the odd entries a data directory collects.</summary>
public class StorageTreeTests
{
    private static readonly string ImageA = new('a', 64);
    private static readonly string ImageB = new('b', 16);

    private TempDirectory _dir = null!;
    private FileSystemStorageDriver _storage = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory();
        _storage = new FileSystemStorageDriver(_dir.Path);
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private Task Put(string path, string content) =>
        _storage.PutContentAsync(path, Encoding.UTF8.GetBytes(content), CancellationToken.None);

    private async Task<List<V1RepositoryDirectory>> RepositoriesAsync()
    {
        var result = new List<V1RepositoryDirectory>();
        await foreach (var directory in StorageTree.RepositoriesAsync(_storage, CancellationToken.None)) result.Add(directory);
        return result;
    }

    [Test]
    public async Task Walks_every_non_empty_repository_directory_with_its_tags_and_index_list()
    {
        await Put("repositories/library/busybox/tag_latest", ImageA);
        await Put("repositories/library/busybox/tag_latest_json", "{\"os\": \"linux\"}");
        await Put("repositories/library/busybox/json", "{}");
        await Put("repositories/alice/pushing/_index_images", $"[{{\"id\": \"{ImageB}\"}}]");
        await Put("repositories/alice/private/_private", "");
        await Put("repositories/alice/private/tag_v1", ImageB);
        await Put("repositories/README", "a file where a namespace would be");
        await Put("repositories/library/stray", "a file where a repository would be");
        Directory.CreateDirectory(Path.Combine(_dir.Path, "repositories/library/empty"));

        var found = await RepositoriesAsync();

        found.Select(r => r.Name.FullName).Should().Equal("alice/private", "alice/pushing", "library/busybox");
        found.Should().OnlyContain(r => r.Addressable && r.Exists);
        var busybox = found.Single(r => r.Name.FullName == "library/busybox");
        busybox.Path.Should().Be("repositories/library/busybox");
        busybox.TagFiles.Should().Equal("repositories/library/busybox/tag_latest", "repositories/library/busybox/tag_latest_json");
        busybox.IndexImages.Should().BeNull();
        found.Single(r => r.Name.FullName == "alice/pushing").IndexImages.Should().Be("repositories/alice/pushing/_index_images");
    }

    [Test]
    public async Task A_directory_without_tags_or_index_list_does_not_exist_as_a_repository()
    {
        await Put("repositories/library/described/_description", "only a description");

        (await RepositoriesAsync()).Single().Exists.Should().BeFalse();
    }

    [Test]
    public async Task A_directory_the_api_cannot_spell_is_walked_but_not_addressable()
    {
        // "%zz" unescapes to itself, which the API escapes as "%25zz": no request reaches this directory.
        await Put("repositories/ns/x%zz/tag_latest", ImageA);
        await Put("repositories/a+b/a%2Bb/tag_latest", ImageA);

        var found = await RepositoriesAsync();

        found.Select(r => (r.DiskName, r.Addressable)).Should().Equal(("a+b/a%2Bb", true), ("ns/x%zz", false));
        found[0].Name.Should().Be(new RepositoryName("a b", "a+b"));
    }

    [Test]
    public async Task One_repository_by_name_is_null_when_it_holds_nothing()
    {
        await Put("repositories/library/busybox/tag_latest", ImageA);
        RepositoryName.TryParse("busybox", out var busybox, out _).Should().BeTrue();
        RepositoryName.TryParse("other", out var other, out _).Should().BeTrue();

        var found = await StorageTree.RepositoryAsync(_storage, busybox, CancellationToken.None);

        found!.DiskName.Should().Be("library/busybox");
        found.Exists.Should().BeTrue();
        (await StorageTree.RepositoryAsync(_storage, other, CancellationToken.None)).Should().BeNull();
    }

    [TestCase(" " + "ID" + "\n", "ID")]
    [TestCase("{\"os\": \"linux\"}", null)]
    public async Task A_tag_file_names_its_trimmed_content_and_a_metadata_file_names_nothing(string content, string? expected)
    {
        await Put("repositories/library/busybox/tag_x", content.Replace("ID", ImageA));

        (await StorageTree.ReadTagAsync(_storage, "repositories/library/busybox/tag_x", CancellationToken.None))
            .Should().Be(expected?.Replace("ID", ImageA));
        (await StorageTree.ReadTagAsync(_storage, "repositories/library/busybox/tag_gone", CancellationToken.None)).Should().BeNull();
    }

    [Test]
    public async Task Image_directories_are_those_named_by_an_image_id()
    {
        await Put($"images/{ImageA}/json", "{}");
        await Put($"images/{ImageB}/json", "{}");
        await Put($"images/{ImageA.ToUpperInvariant()}/json", "{}");
        await Put("images/not-an-id/json", "{}");
        await Put("images/stray", "");

        var found = new List<string>();
        await foreach (var (id, dir, _) in StorageTree.ImagesAsync(_storage, _ => true, CancellationToken.None))
        {
            dir.Should().Be(StoragePaths.ImageDir(id));
            found.Add(id.Value);
        }

        found.Should().Equal(ImageA, ImageB);
    }

    [TestCase("tag_latest", true)]
    [TestCase("tag_x_json", true)]
    [TestCase("tag_", false)]
    [TestCase("taglatest_json", false)]
    [TestCase("_index_images", false)]
    [TestCase("json", false)]
    public void The_tag_file_rule(string fileName, bool isTag) => StoragePaths.IsTagFileName(fileName).Should().Be(isTag);
}
