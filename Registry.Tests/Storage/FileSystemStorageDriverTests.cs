using Registry.Tests.Support;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Storage;

namespace Registry.Tests.Storage;

[TestFixture]
public sealed class FileSystemStorageDriverTests : StorageDriverContract
{
    private TempDirectory _parent = null!;
    private string _root = null!;

    private FileSystemStorageDriver FileDriver => (FileSystemStorageDriver)Driver;

    protected override IStorageDriver CreateDriver()
    {
        // The root sits inside a private parent folder, so a test can see anything written next to the root.
        _parent = new TempDirectory();
        _root = Path.Combine(_parent.Path, "root");
        return new FileSystemStorageDriver(_root);
    }

    protected override void DestroyDriver() => _parent.Dispose();

    protected override void AssertNoTempData() => TempFilesUnder(_root).Should().BeEmpty();

    private static List<string> TempFilesUnder(string dir) =>
        Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(f => Path.GetFileName(f).StartsWith(StorageKey.TempPrefix, StringComparison.Ordinal))
            .ToList();

    [Test]
    public void Kind_is_file() => Driver.Kind.Should().Be("file");

    [Test]
    public void The_root_is_created_and_made_absolute()
    {
        var wanted = Path.Combine(_parent.Path, "relative", "root");
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, wanted) + "/";

        var driver = new FileSystemStorageDriver(relative);

        driver.Root.Should().Be(wanted);
        Directory.Exists(wanted).Should().BeTrue();
    }

    [Test]
    public async Task Objects_are_plain_files_at_their_key()
    {
        await Driver.PutContentAsync("images/abc/json", Utf8("{\"id\": \"abc\"}"), None);

        File.ReadAllBytes(Path.Combine(_root, "images", "abc", "json")).Should().Equal(Utf8("{\"id\": \"abc\"}"));
        FileDriver.GetPhysicalPath("images/abc/json").Should().Be(Path.Combine(_root, "images", "abc", "json"));
        FileDriver.GetPhysicalPath("not/there/yet").Should().Be(Path.Combine(_root, "not", "there", "yet"));
    }

    [Test]
    public async Task Existing_files_are_served_as_they_are()
    {
        Directory.CreateDirectory(Path.Combine(_root, "repositories", "library", "foo"));
        File.WriteAllText(Path.Combine(_root, "repositories", "library", "foo", "tag_latest"), "abc\n");

        (await Driver.GetContentAsync("repositories/library/foo/tag_latest", None)).Should().Equal(Utf8("abc\n"));
        (await Driver.ListAsync("repositories/library", None)).Should().Equal("repositories/library/foo");
    }

    [TestCase("../x")]
    [TestCase("a/../../x")]
    [TestCase("/etc/passwd")]
    [TestCase("")]
    public void GetPhysicalPath_rejects_invalid_keys(string key)
    {
        var act = () => FileDriver.GetPhysicalPath(key);

        act.Should().Throw<StoragePathException>();
    }

    [Test]
    public async Task Nothing_is_ever_created_outside_the_root()
    {
        await Driver.PutContentAsync("a/b", Utf8("x"), None);
        await Driver.WriteStreamAsync("c/d", new MemoryStream(Utf8("y")), None);
        await Driver.MoveAsync("a/b", "e/f", None);
        foreach (var key in InvalidKeys)
        {
            var put = () => Driver.PutContentAsync(key, Utf8("z"), None);
            await put.Should().ThrowAsync<StoragePathException>();
            var move = () => Driver.MoveAsync("c/d", key, None);
            await move.Should().ThrowAsync<StoragePathException>();
        }
        var failing = new ChunkedStream(TestData.Bytes(10_000), 1000)
        {
            BeforeRead = sent => { if (sent > 5000) throw new IOException("boom"); },
        };
        var write = () => Driver.WriteStreamAsync("g/h", failing, None);
        await write.Should().ThrowAsync<IOException>();

        Directory.GetFileSystemEntries(_parent.Path).Should().Equal(_root);
        AssertNoTempData();
    }

    // Past the first 1 MiB copy block, with blocks already written and their write-back started: the failure of the
    // receiving side must still surface as itself and publish nothing.
    [Test]
    public async Task A_large_body_that_fails_while_a_block_is_written_publishes_nothing()
    {
        await Driver.PutContentAsync("images/abc/layer", Utf8("old"), None);
        var failure = new IOException("client went away");
        var source = new ChunkedStream(TestData.Bytes(5 << 20), 64 * 1024)
        {
            BeforeRead = sent => { if (sent >= (5 << 20) / 2) throw failure; },
        };

        var write = () => Driver.WriteStreamAsync("images/abc/layer", source, None);

        (await write.Should().ThrowAsync<IOException>()).Which.Should().BeSameAs(failure);
        (await Driver.GetContentAsync("images/abc/layer", None)).Should().Equal(Utf8("old"));
        AssertNoTempData();
    }

    [Test]
    public async Task A_large_body_arrives_whole_in_odd_pieces()
    {
        var data = TestData.Bytes((5 << 20) + 4321, seed: 3);

        var written = await Driver.WriteStreamAsync("images/abc/layer", new ChunkedStream(data, 99_991), None);

        written.Should().Be(data.Length);
        (await Driver.GetContentAsync("images/abc/layer", None)).Should().Equal(data);
        AssertNoTempData();
    }

    [Test]
    public async Task The_temp_file_lives_next_to_the_target_while_the_write_runs()
    {
        List<string>? during = null;
        var source = new ChunkedStream(TestData.Bytes(50_000), 10_000)
        {
            BeforeRead = sent => { if (sent == 20_000) during = Directory.GetFiles(Path.Combine(_root, "images", "abc")).ToList(); },
        };

        await Driver.WriteStreamAsync("images/abc/layer", source, None);

        during.Should().ContainSingle().Which.Should().StartWith(Path.Combine(_root, "images", "abc", StorageKey.TempPrefix));
        AssertNoTempData();
    }

    [Test]
    public async Task Temp_files_are_invisible_and_CleanupTemp_removes_those_older_than_the_driver()
    {
        await Driver.PutContentAsync("images/abc/json", Utf8("{}"), None);
        var leftovers = new[]
        {
            Path.Combine(_root, StorageKey.TempPrefix + "1"),
            Path.Combine(_root, "images", "abc", StorageKey.TempPrefix + "2"),
            Path.Combine(_root, "images", "only-temp", StorageKey.TempPrefix + "3"),
        };
        foreach (var file in leftovers)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, "partial");
            // Written by a process before this driver: a crash's leftover.
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(-5));
        }

        // Being written by this process now: the clean-up runs in the background and must leave it alone.
        var current = Path.Combine(_root, "images", "abc", StorageKey.TempPrefix + "4");
        File.WriteAllText(current, "in flight");

        (await Driver.ListAsync("images/abc", None)).Should().Equal("images/abc/json");
        (await Driver.DirectoryExistsAsync("images/only-temp", None)).Should().BeFalse();

        await Driver.CleanupTempAsync(None);

        leftovers.Where(File.Exists).Should().BeEmpty();
        File.Exists(current).Should().BeTrue();
        (await Driver.GetContentAsync("images/abc/json", None)).Should().Equal(Utf8("{}"));
    }

    [Test]
    public async Task Names_no_key_can_spell_are_not_listed()
    {
        var dir = Path.Combine(_root, "repositories", "library", "foo");
        Directory.CreateDirectory(dir);
        foreach (var name in new[] { "tag_latest", "back\\slash", "ctl\u0001", ".hidden" })
            File.WriteAllText(Path.Combine(dir, name), "x");

        (await Driver.ListAsync("repositories/library/foo", None))
            .Should().Equal("repositories/library/foo/.hidden", "repositories/library/foo/tag_latest");
    }

    [Test]
    public async Task Deleting_the_last_object_leaves_an_empty_directory_that_is_listed_but_does_not_exist()
    {
        // Like the original's file driver, directories are never pruned: pruning would race with writers
        // that just created them. DirectoryExists (at least one object) is the existence check to use.
        await Driver.PutContentAsync("repositories/library/foo/tag_latest", Utf8("id"), None);
        await Driver.DeleteAsync("repositories/library/foo/tag_latest", None);

        (await Driver.ListAsync("repositories/library", None)).Should().Equal("repositories/library/foo");
        (await Driver.DirectoryExistsAsync("repositories/library/foo", None)).Should().BeFalse();
        (await Driver.DeleteAsync("repositories/library/foo", None)).Should().BeTrue();
        (await Driver.ListAsync("repositories/library", None)).Should().BeEmpty();
    }

    // ---- symbolic links: never followed below the root ---------------------------------------------------

    private string MakeOutsideDirectoryWithSecret()
    {
        var outside = Path.Combine(_parent.Path, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "secret"), "secret");
        return outside;
    }

    [Test]
    public async Task A_directory_link_inside_the_root_is_never_written_through()
    {
        var outside = MakeOutsideDirectoryWithSecret();
        Directory.CreateSymbolicLink(Path.Combine(_root, "link"), outside);
        await Driver.PutContentAsync("source", Utf8("s"), None);

        var put = () => Driver.PutContentAsync("link/x", Utf8("x"), None);
        await put.Should().ThrowAsync<StoragePathException>();
        var overwrite = () => Driver.PutContentAsync("link/secret", Utf8("x"), None);
        await overwrite.Should().ThrowAsync<StoragePathException>();
        var write = () => Driver.WriteStreamAsync("link/y", new MemoryStream(Utf8("y")), None);
        await write.Should().ThrowAsync<StoragePathException>();
        var move = () => Driver.MoveAsync("source", "link/z", None);
        await move.Should().ThrowAsync<StoragePathException>();
        var delete = () => Driver.DeleteAsync("link/secret", None);
        await delete.Should().ThrowAsync<StoragePathException>();
        var deleteLink = () => Driver.DeleteAsync("link", None);
        await deleteLink.Should().ThrowAsync<StoragePathException>();
        var physical = () => FileDriver.GetPhysicalPath("link/secret");
        physical.Should().Throw<StoragePathException>();

        Directory.GetFileSystemEntries(outside).Should().Equal(Path.Combine(outside, "secret"));
        File.ReadAllText(Path.Combine(outside, "secret")).Should().Be("secret");
    }

    [Test]
    public async Task A_link_inside_the_root_reads_as_absent()
    {
        var outside = MakeOutsideDirectoryWithSecret();
        Directory.CreateSymbolicLink(Path.Combine(_root, "link"), outside);
        Directory.CreateDirectory(Path.Combine(_root, "dir"));
        File.CreateSymbolicLink(Path.Combine(_root, "dir", "file-link"), Path.Combine(outside, "secret"));
        File.WriteAllText(Path.Combine(_root, "dir", "plain"), "p");

        (await Driver.GetContentAsync("link/secret", None)).Should().BeNull();
        (await Driver.ExistsAsync("link/secret", None)).Should().BeFalse();
        (await Driver.OpenReadAsync("link/secret", 0, None)).Should().BeNull();
        (await Driver.SizeAsync("link/secret", None)).Should().BeNull();
        (await Driver.ListAsync("link", None)).Should().BeEmpty();
        (await Driver.DirectoryExistsAsync("link", None)).Should().BeFalse();
        (await Driver.GetContentAsync("dir/file-link", None)).Should().BeNull();
        (await Driver.ListAsync("dir", None)).Should().Equal("dir/plain");
        (await Driver.DirectoryExistsAsync("dir", None)).Should().BeTrue();
    }

    [Test]
    public async Task Deleting_a_directory_that_holds_a_link_removes_the_link_not_its_target()
    {
        var outside = MakeOutsideDirectoryWithSecret();
        Directory.CreateDirectory(Path.Combine(_root, "dir"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "dir", "link"), outside);
        File.CreateSymbolicLink(Path.Combine(_root, "dir", "file-link"), Path.Combine(outside, "secret"));

        (await Driver.DeleteAsync("dir", None)).Should().BeTrue();

        Directory.Exists(Path.Combine(_root, "dir")).Should().BeFalse();
        File.ReadAllText(Path.Combine(outside, "secret")).Should().Be("secret");
    }

    [Test]
    public async Task CleanupTemp_does_not_follow_links()
    {
        var outside = MakeOutsideDirectoryWithSecret();
        File.WriteAllText(Path.Combine(outside, StorageKey.TempPrefix + "not-ours"), "x");
        Directory.CreateSymbolicLink(Path.Combine(_root, "link"), outside);

        await Driver.CleanupTempAsync(None);

        File.Exists(Path.Combine(outside, StorageKey.TempPrefix + "not-ours")).Should().BeTrue();
    }

    [Test]
    public async Task The_root_itself_may_be_a_link()
    {
        var real = Path.Combine(_parent.Path, "real-root");
        Directory.CreateDirectory(real);
        var linked = Path.Combine(_parent.Path, "linked-root");
        Directory.CreateSymbolicLink(linked, real);
        var driver = new FileSystemStorageDriver(linked);

        await driver.PutContentAsync("images/abc/json", Utf8("{}"), None);

        File.ReadAllText(Path.Combine(real, "images", "abc", "json")).Should().Be("{}");
        (await driver.ListAsync("images", None)).Should().Equal("images/abc");
    }

    [Test]
    public async Task Two_level_listing_answers_what_a_listing_of_each_child_would()
    {
        await Driver.PutContentAsync("repositories/ns/b/tag_latest", Utf8("x"), default);
        await Driver.PutContentAsync("repositories/ns/b/_description", Utf8("d"), default);
        await Driver.PutContentAsync("repositories/ns/a/_index_images", Utf8("[]"), default);
        await Driver.PutContentAsync("repositories/ns/file", Utf8("f"), default);
        Directory.CreateDirectory(Path.Combine(_root, "repositories/ns/empty"));
        File.WriteAllText(Path.Combine(_root, "repositories/ns/b", StorageKey.TempPrefix + "1"), "in flight");
        Directory.CreateSymbolicLink(Path.Combine(_root, "repositories/ns/link"), Path.Combine(_root, "repositories/ns/b"));
        File.CreateSymbolicLink(Path.Combine(_root, "repositories/ns/a/tag_link"), Path.Combine(_root, "repositories/ns/file"));

        var expected = new List<(string, IReadOnlyList<string>)>();
        foreach (var child in await Driver.ListAsync("repositories/ns", default)) expected.Add((child, await Driver.ListAsync(child, default)));

        var listed = await FileDriver.ListTwoLevelsAsync("repositories/ns", default);
        listed.Should().BeEquivalentTo(expected, options => options.WithStrictOrdering());
        listed.Select(l => l.Path).Should().Equal("repositories/ns/a", "repositories/ns/b", "repositories/ns/empty", "repositories/ns/file");
        listed[1].Children.Should().Equal("repositories/ns/b/_description", "repositories/ns/b/tag_latest");
        (await FileDriver.ListTwoLevelsAsync("repositories/none", default)).Should().BeEmpty();
    }
}
