using Registry.Tests.Support;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Storage;

namespace Registry.Tests.Storage;

/// <summary>
/// What every <see cref="IStorageDriver"/> must do. A driver gets a derived fixture that creates a fresh,
/// empty driver per test and may add checks of its own backing store.
/// </summary>
public abstract class StorageDriverContract
{
    protected static readonly CancellationToken None = CancellationToken.None;

    protected IStorageDriver Driver { get; private set; } = null!;

    /// <summary>A fresh, empty driver; called before every test.</summary>
    protected abstract IStorageDriver CreateDriver();

    /// <summary>Called after every test to release what <see cref="CreateDriver"/> made.</summary>
    protected virtual void DestroyDriver()
    {
    }

    /// <summary>Asserts the backing store holds no temp data from unfinished writes.</summary>
    protected virtual void AssertNoTempData()
    {
    }

    [SetUp]
    public void CreateDriverForTest() => Driver = CreateDriver();

    [TearDown]
    public void DestroyDriverAfterTest() => DestroyDriver();

    protected static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    // ---- small objects -------------------------------------------------------------------------------

    [Test]
    public async Task Put_then_get_returns_the_exact_bytes()
    {
        var data = TestData.Bytes(1000);
        await Driver.PutContentAsync("images/abc/json", data, None);

        (await Driver.GetContentAsync("images/abc/json", None)).Should().Equal(data);
        (await Driver.ExistsAsync("images/abc/json", None)).Should().BeTrue();
        (await Driver.SizeAsync("images/abc/json", None)).Should().Be(1000);
    }

    [Test]
    public async Task Put_overwrites_the_previous_object()
    {
        await Driver.PutContentAsync("a/b", Utf8("first, longer value"), None);
        await Driver.PutContentAsync("a/b", Utf8("second"), None);

        (await Driver.GetContentAsync("a/b", None)).Should().Equal(Utf8("second"));
        (await Driver.SizeAsync("a/b", None)).Should().Be(6);
        (await Driver.ListAsync("a", None)).Should().Equal("a/b");
    }

    [Test]
    public async Task An_empty_object_exists_with_size_zero()
    {
        await Driver.PutContentAsync("repositories/library/foo/_private", ReadOnlyMemory<byte>.Empty, None);

        (await Driver.ExistsAsync("repositories/library/foo/_private", None)).Should().BeTrue();
        (await Driver.SizeAsync("repositories/library/foo/_private", None)).Should().Be(0);
        (await Driver.GetContentAsync("repositories/library/foo/_private", None)).Should().BeEmpty();
    }

    [Test]
    public async Task Get_returns_a_copy_that_callers_may_change()
    {
        await Driver.PutContentAsync("k", Utf8("abc"), None);
        var first = await Driver.GetContentAsync("k", None);
        first![0] = (byte)'X';

        (await Driver.GetContentAsync("k", None)).Should().Equal(Utf8("abc"));
    }

    [TestCase("missing")]
    [TestCase("no/such/parent/dirs/at/all")]
    public async Task A_missing_object_reads_as_absent(string key)
    {
        await Driver.PutContentAsync("other/file", Utf8("x"), None);

        (await Driver.GetContentAsync(key, None)).Should().BeNull();
        (await Driver.ExistsAsync(key, None)).Should().BeFalse();
        (await Driver.SizeAsync(key, None)).Should().BeNull();
        (await Driver.LastModifiedAsync(key, None)).Should().BeNull();
        (await Driver.OpenReadAsync(key, 0, None)).Should().BeNull();
        (await Driver.ListAsync(key, None)).Should().BeEmpty();
        (await Driver.DirectoryExistsAsync(key, None)).Should().BeFalse();
        (await Driver.DeleteAsync(key, None)).Should().BeFalse();
    }

    [Test]
    public async Task A_directory_is_not_an_object()
    {
        await Driver.PutContentAsync("images/abc/json", Utf8("{}"), None);

        (await Driver.ExistsAsync("images/abc", None)).Should().BeFalse();
        (await Driver.GetContentAsync("images/abc", None)).Should().BeNull();
        (await Driver.SizeAsync("images/abc", None)).Should().BeNull();
        (await Driver.LastModifiedAsync("images/abc", None)).Should().BeNull();
        (await Driver.OpenReadAsync("images/abc", 0, None)).Should().BeNull();
    }

    [Test]
    public async Task An_object_below_an_object_is_refused()
    {
        await Driver.PutContentAsync("a/file", Utf8("x"), None);

        var put = () => Driver.PutContentAsync("a/file/child", Utf8("y"), None);
        await put.Should().ThrowAsync<IOException>();

        (await Driver.GetContentAsync("a/file", None)).Should().Equal(Utf8("x"));
        AssertNoTempData();
    }

    [Test]
    public async Task An_object_where_a_directory_is_is_refused()
    {
        await Driver.PutContentAsync("a/dir/child", Utf8("x"), None);

        var put = () => Driver.PutContentAsync("a/dir", Utf8("y"), None);
        await put.Should().ThrowAsync<IOException>();
        var write = () => Driver.WriteStreamAsync("a/dir", new MemoryStream(Utf8("y")), None);
        await write.Should().ThrowAsync<IOException>();

        (await Driver.GetContentAsync("a/dir/child", None)).Should().Equal(Utf8("x"));
        AssertNoTempData();
    }

    [Test]
    public async Task Unusual_but_valid_names_round_trip()
    {
        string[] keys =
        [
            "repositories/a+b/abcde%2525%2524_-test/tag_latest",
            "repositories/library/%252E%252E/json",
            "ünïcode/😀 space",
            ".hidden/..dots/...",
        ];
        foreach (var key in keys) await Driver.PutContentAsync(key, Utf8(key), None);

        foreach (var key in keys) (await Driver.GetContentAsync(key, None)).Should().Equal(Utf8(key));
        (await Driver.ListAsync(".hidden", None)).Should().Equal(".hidden/..dots");
        (await Driver.ListAsync(".hidden/..dots", None)).Should().Equal(".hidden/..dots/...");
    }

    // ---- directories -----------------------------------------------------------------------------------

    [Test]
    public async Task List_returns_direct_children_as_full_paths_in_ordinal_order()
    {
        foreach (var key in new[] { "r/b", "r/a", "r/sub/x", "r/sub/deeper/y", "r/A", "r/_index", "rr/z", "r.x" })
            await Driver.PutContentAsync(key, Utf8(key), None);

        (await Driver.ListAsync("r", None)).Should().Equal("r/A", "r/_index", "r/a", "r/b", "r/sub");
        (await Driver.ListAsync("r/sub", None)).Should().Equal("r/sub/deeper", "r/sub/x");
    }

    [Test]
    public async Task List_of_an_object_is_empty()
    {
        await Driver.PutContentAsync("a/file", Utf8("x"), None);

        (await Driver.ListAsync("a/file", None)).Should().BeEmpty();
    }

    [Test]
    public async Task DirectoryExists_is_true_only_for_a_prefix_holding_objects()
    {
        await Driver.PutContentAsync("repositories/library/foo/tag_latest", Utf8("id"), None);

        (await Driver.DirectoryExistsAsync("repositories", None)).Should().BeTrue();
        (await Driver.DirectoryExistsAsync("repositories/library/foo", None)).Should().BeTrue();
        (await Driver.DirectoryExistsAsync("repositories/library/foo/tag_latest", None)).Should().BeFalse();
        (await Driver.DirectoryExistsAsync("repositories/library/fo", None)).Should().BeFalse();
        (await Driver.DirectoryExistsAsync("repositories/lib", None)).Should().BeFalse();
    }

    [Test]
    public async Task DirectoryExists_is_false_once_the_last_object_is_deleted()
    {
        await Driver.PutContentAsync("repositories/library/foo/tag_latest", Utf8("id"), None);
        await Driver.DeleteAsync("repositories/library/foo/tag_latest", None);

        (await Driver.DirectoryExistsAsync("repositories/library/foo", None)).Should().BeFalse();
        (await Driver.DirectoryExistsAsync("repositories", None)).Should().BeFalse();
    }

    // ---- metadata --------------------------------------------------------------------------------------

    [Test]
    public async Task LastModified_is_the_time_of_the_write()
    {
        // File systems keep mtime at a coarser grain than the clock; allow for that on both sides.
        var before = DateTimeOffset.UtcNow.AddSeconds(-2);
        await Driver.PutContentAsync("a", Utf8("x"), None);
        var after = DateTimeOffset.UtcNow.AddSeconds(2);

        var modified = await Driver.LastModifiedAsync("a", None);
        modified.Should().NotBeNull();
        modified!.Value.Offset.Should().Be(TimeSpan.Zero);
        modified.Value.Should().BeOnOrAfter(before).And.BeOnOrBefore(after);
    }

    // ---- move and delete -------------------------------------------------------------------------------

    [Test]
    public async Task Move_replaces_the_destination_and_removes_the_source()
    {
        await Driver.PutContentAsync("from/x", Utf8("new"), None);
        await Driver.PutContentAsync("to/x", Utf8("old value"), None);

        await Driver.MoveAsync("from/x", "to/x", None);

        (await Driver.GetContentAsync("to/x", None)).Should().Equal(Utf8("new"));
        (await Driver.ExistsAsync("from/x", None)).Should().BeFalse();
        (await Driver.SizeAsync("to/x", None)).Should().Be(3);
    }

    [Test]
    public async Task Move_creates_the_destination_directories()
    {
        await Driver.PutContentAsync("x", Utf8("data"), None);

        await Driver.MoveAsync("x", "deep/er/y", None);

        (await Driver.GetContentAsync("deep/er/y", None)).Should().Equal(Utf8("data"));
        (await Driver.ListAsync("deep", None)).Should().Equal("deep/er");
    }

    [Test]
    public async Task Move_of_a_missing_object_throws_FileNotFound()
    {
        var move = () => Driver.MoveAsync("missing", "to", None);

        await move.Should().ThrowAsync<FileNotFoundException>();
        (await Driver.ExistsAsync("to", None)).Should().BeFalse();
    }

    [Test]
    public async Task Move_onto_a_directory_is_refused()
    {
        await Driver.PutContentAsync("x", Utf8("data"), None);
        await Driver.PutContentAsync("dir/child", Utf8("c"), None);

        var move = () => Driver.MoveAsync("x", "dir", None);

        await move.Should().ThrowAsync<IOException>();
        (await Driver.GetContentAsync("x", None)).Should().Equal(Utf8("data"));
        (await Driver.GetContentAsync("dir/child", None)).Should().Equal(Utf8("c"));
    }

    [Test]
    public async Task Delete_removes_an_object()
    {
        await Driver.PutContentAsync("a/b", Utf8("x"), None);
        await Driver.PutContentAsync("a/c", Utf8("y"), None);

        (await Driver.DeleteAsync("a/b", None)).Should().BeTrue();

        (await Driver.ExistsAsync("a/b", None)).Should().BeFalse();
        (await Driver.ListAsync("a", None)).Should().Equal("a/c");
        (await Driver.DeleteAsync("a/b", None)).Should().BeFalse();
    }

    [Test]
    public async Task Delete_removes_a_directory_recursively_and_nothing_that_merely_shares_its_prefix()
    {
        foreach (var key in new[] { "r/ns/repo/tag_a", "r/ns/repo/sub/deep/x", "r/ns/repo2/tag_a", "r/ns/repo.x", "r/ns/rep" })
            await Driver.PutContentAsync(key, Utf8(key), None);

        (await Driver.DeleteAsync("r/ns/repo", None)).Should().BeTrue();

        (await Driver.ExistsAsync("r/ns/repo/tag_a", None)).Should().BeFalse();
        (await Driver.ExistsAsync("r/ns/repo/sub/deep/x", None)).Should().BeFalse();
        (await Driver.DirectoryExistsAsync("r/ns/repo", None)).Should().BeFalse();
        (await Driver.ListAsync("r/ns", None)).Should().Equal("r/ns/rep", "r/ns/repo.x", "r/ns/repo2");
        (await Driver.DeleteAsync("r/ns/repo", None)).Should().BeFalse();
    }

    // ---- streams ---------------------------------------------------------------------------------------

    [Test]
    public async Task WriteStream_returns_the_byte_count_and_stores_the_exact_bytes()
    {
        // Larger than the copy buffer and not a multiple of the chunk size, to exercise partial blocks.
        var data = TestData.Bytes((3 << 20) + 17);

        var written = await Driver.WriteStreamAsync("images/abc/layer", new ChunkedStream(data, 7000), None);

        written.Should().Be(data.Length);
        (await Driver.SizeAsync("images/abc/layer", None)).Should().Be(data.Length);
        (await Driver.GetContentAsync("images/abc/layer", None)).Should().Equal(data);
        AssertNoTempData();
    }

    [Test]
    public async Task WriteStream_of_an_empty_stream_stores_an_empty_object()
    {
        var written = await Driver.WriteStreamAsync("empty", new MemoryStream(), None);

        written.Should().Be(0);
        (await Driver.ExistsAsync("empty", None)).Should().BeTrue();
        (await Driver.SizeAsync("empty", None)).Should().Be(0);
    }

    [Test]
    public async Task WriteStream_replaces_the_previous_object()
    {
        await Driver.PutContentAsync("k", TestData.Bytes(5000, seed: 1), None);
        var data = TestData.Bytes(100, seed: 2);

        await Driver.WriteStreamAsync("k", new MemoryStream(data), None);

        (await Driver.GetContentAsync("k", None)).Should().Equal(data);
    }

    [Test]
    public async Task A_source_that_fails_midway_publishes_nothing()
    {
        var failure = new IOException("client went away");
        var source = new ChunkedStream(TestData.Bytes(200_000), 10_000)
        {
            BeforeRead = sent => { if (sent >= 50_000) throw failure; },
        };

        var write = () => Driver.WriteStreamAsync("images/abc/layer", source, None);

        (await write.Should().ThrowAsync<IOException>()).Which.Should().BeSameAs(failure);
        (await Driver.ExistsAsync("images/abc/layer", None)).Should().BeFalse();
        (await Driver.ListAsync("images/abc", None)).Should().BeEmpty();
        (await Driver.DirectoryExistsAsync("images", None)).Should().BeFalse();
        AssertNoTempData();
    }

    [Test]
    public async Task A_source_that_fails_midway_keeps_the_previous_object()
    {
        var old = TestData.Bytes(3000, seed: 7);
        await Driver.PutContentAsync("k", old, None);
        var source = new ChunkedStream(TestData.Bytes(200_000), 10_000)
        {
            BeforeRead = sent => { if (sent >= 50_000) throw new IOException("reset"); },
        };

        var write = () => Driver.WriteStreamAsync("k", source, None);

        await write.Should().ThrowAsync<IOException>();
        (await Driver.GetContentAsync("k", None)).Should().Equal(old);
        (await Driver.ListAsync("k", None)).Should().BeEmpty();
        AssertNoTempData();
    }

    [Test]
    public async Task A_cancelled_write_publishes_nothing()
    {
        using var cts = new CancellationTokenSource();
        await Driver.PutContentAsync("k", Utf8("old"), None);
        var source = new ChunkedStream(TestData.Bytes(500_000), 10_000)
        {
            BeforeRead = sent => { if (sent >= 100_000) cts.Cancel(); },
        };

        var write = () => Driver.WriteStreamAsync("k", source, cts.Token);

        await write.Should().ThrowAsync<OperationCanceledException>();
        source.SawCancellation.Should().BeTrue();
        (await Driver.GetContentAsync("k", None)).Should().Equal(Utf8("old"));
        AssertNoTempData();
    }

    // 1 MiB: a driver that copies in 1 MiB blocks has no write left to make when the token fires.
    [TestCase(30_000)]
    [TestCase(1 << 20)]
    public async Task A_token_that_fires_after_the_last_byte_still_publishes_nothing(int length)
    {
        using var cts = new CancellationTokenSource();
        // The driver has read everything when the caller gives up; it must not publish after that.
        var source = new ChunkedStream(TestData.Bytes(length), 64 * 1024) { AtEnd = cts.Cancel };

        var write = () => Driver.WriteStreamAsync("k", source, cts.Token);

        await write.Should().ThrowAsync<OperationCanceledException>();
        (await Driver.ExistsAsync("k", None)).Should().BeFalse();
        AssertNoTempData();
    }

    [Test]
    public async Task OpenRead_starts_at_the_offset()
    {
        await Driver.PutContentAsync("k", Utf8("0123456789"), None);

        (await ReadAllAsync("k", 0)).Should().Be("0123456789");
        (await ReadAllAsync("k", 4)).Should().Be("456789");
        (await ReadAllAsync("k", 9)).Should().Be("9");
        (await ReadAllAsync("k", 10)).Should().Be("");
        (await ReadAllAsync("k", 1000)).Should().Be("");
    }

    [Test]
    public async Task OpenRead_with_a_negative_offset_throws()
    {
        await Driver.PutContentAsync("k", Utf8("0123456789"), None);

        var open = () => Driver.OpenReadAsync("k", -1, None);

        await open.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Test]
    public async Task An_open_reader_keeps_reading_the_object_it_opened()
    {
        var old = TestData.Bytes(100_000, seed: 1);
        await Driver.PutContentAsync("k", old, None);
        await using var reader = await Driver.OpenReadAsync("k", 0, None);

        await Driver.PutContentAsync("k", TestData.Bytes(10, seed: 2), None);
        await Driver.DeleteAsync("k", None);

        var copy = new MemoryStream();
        await reader!.CopyToAsync(copy);
        copy.ToArray().Should().Equal(old);
    }

    // ---- concurrency -----------------------------------------------------------------------------------

    [Test]
    public async Task A_concurrent_reader_sees_the_old_or_the_new_object_never_a_partial_one()
    {
        const int size = 300_000;
        await Driver.PutContentAsync("k", TestData.Filled(size, (byte)'A'), None);
        var stop = 0;

        var writer = Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < 12; i++)
                {
                    var value = TestData.Filled(size + i, (byte)('B' + i % 2));
                    if (i % 3 == 0) await Driver.PutContentAsync("k", value, None);
                    else await Driver.WriteStreamAsync("k", new ChunkedStream(value, 16_384), None);
                }
            }
            finally
            {
                Volatile.Write(ref stop, 1);
            }
        });

        var reads = 0;
        while (Volatile.Read(ref stop) == 0 && reads < 100_000)
        {
            var content = await Driver.GetContentAsync("k", None);
            content.Should().NotBeNull("an overwrite must never make the object disappear");
            content.Should().OnlyContain(b => b == content![0], "a read must not mix two versions");
            // Version i is size + i bytes of 'B' + i % 2: the length must agree with the byte it is made of.
            var extra = content!.Length - size;
            if (content[0] == 'A') extra.Should().Be(0);
            else
            {
                extra.Should().BeInRange(0, 11);
                (content[0] - 'B').Should().Be(extra % 2, "a partial object would have the wrong length");
            }
            reads++;
        }
        await writer;

        var final = await Driver.GetContentAsync("k", None);
        final.Should().Equal(TestData.Filled(size + 11, (byte)'C'));
        AssertNoTempData();
    }

    [Test]
    public async Task Two_concurrent_writers_leave_one_complete_value()
    {
        var first = TestData.Filled(400_000, 1);
        var second = TestData.Filled(450_000, 2);

        await Task.WhenAll(
            Driver.WriteStreamAsync("images/abc/layer", new ChunkedStream(first, 8192), None),
            Driver.WriteStreamAsync("images/abc/layer", new ChunkedStream(second, 8192), None));

        var content = await Driver.GetContentAsync("images/abc/layer", None);
        content.Should().NotBeNull();
        if (content![0] == 1) content.Should().Equal(first);
        else content.Should().Equal(second);
        (await Driver.ListAsync("images/abc", None)).Should().Equal("images/abc/layer");
        AssertNoTempData();
    }

    // ---- key validation --------------------------------------------------------------------------------

    public static readonly string[] InvalidKeys =
    [
        "../x", "a/../b", "..", ".", "/abs", "a//b", "a/", "a\\b", "", "a/./b", "a\0b", "a\nb", "a\u007fb",
        "x/" + StorageKey.TempPrefix + "0123", new string('x', 256), "a\ud800b",
    ];

    [TestCaseSource(nameof(InvalidKeys))]
    public async Task An_invalid_key_is_rejected_by_every_operation(string key)
    {
        await Driver.PutContentAsync("valid", Utf8("x"), None);
        var operations = new (string Name, Func<Task> Call)[]
        {
            ("GetContent", () => Driver.GetContentAsync(key, None)),
            ("PutContent", () => Driver.PutContentAsync(key, Utf8("x"), None)),
            ("WriteStream", () => Driver.WriteStreamAsync(key, new MemoryStream(Utf8("x")), None)),
            ("OpenRead", () => Driver.OpenReadAsync(key, 0, None)),
            ("Exists", () => Driver.ExistsAsync(key, None)),
            ("Size", () => Driver.SizeAsync(key, None)),
            ("List", () => Driver.ListAsync(key, None)),
            ("DirectoryExists", () => Driver.DirectoryExistsAsync(key, None)),
            ("Move from", () => Driver.MoveAsync(key, "elsewhere", None)),
            ("Move to", () => Driver.MoveAsync("valid", key, None)),
            ("Delete", () => Driver.DeleteAsync(key, None)),
            ("LastModified", () => Driver.LastModifiedAsync(key, None)),
        };

        foreach (var (name, call) in operations)
            await call.Should().ThrowAsync<StoragePathException>($"{name} must validate the key");
        (await Driver.GetContentAsync("valid", None)).Should().Equal(Utf8("x"));
        (await Driver.ExistsAsync("elsewhere", None)).Should().BeFalse();
    }

    [Test]
    public async Task A_segment_of_255_bytes_is_accepted()
    {
        var key = "dir/" + new string('x', 255);

        await Driver.PutContentAsync(key, Utf8("x"), None);

        (await Driver.ListAsync("dir", None)).Should().Equal(key);
    }

    // ---- whole subtrees (ISubtreeReading and ITreeListing where the driver has them, else call by call) -----

    /// <summary>A V1 namespace: names that sort differently by path and by segment ('-' before '/'), depth, a large object.</summary>
    private async Task SeedTreeAsync()
    {
        await Driver.PutContentAsync("repositories/ns/a/_index_images", Utf8("[]"), None);
        await Driver.PutContentAsync("repositories/ns/b/tag_latest", Utf8("x"), None);
        await Driver.PutContentAsync("repositories/ns/b/_description", Utf8("d"), None);
        await Driver.PutContentAsync("repositories/ns/b/deep/more/file", Utf8("deep"), None);
        await Driver.PutContentAsync("repositories/ns/b/big", TestData.Bytes(100), None);
        await Driver.PutContentAsync("repositories/ns/b-c/tag_v1", Utf8("1"), None);
        await Driver.PutContentAsync("repositories/ns/file", Utf8("f"), None);
        await Driver.PutContentAsync("repositories/other/z/tag_latest", Utf8("z"), None);
    }

    [Test]
    public async Task A_subtree_read_lists_every_directory_and_object_below_with_sizes_times_and_small_contents()
    {
        await SeedTreeAsync();

        var entries = await StorageSubtree.ReadAsync(Driver, "repositories/ns", 10, None);

        entries.Select(e => (e.Path, e.IsDirectory, e.Size, Content: e.Content is null ? null : Encoding.UTF8.GetString(e.Content))).Should().Equal(
            ("repositories/ns/a", true, 0L, null),
            ("repositories/ns/a/_index_images", false, 2L, "[]"),
            ("repositories/ns/b", true, 0L, null),
            ("repositories/ns/b-c", true, 0L, null),
            ("repositories/ns/b-c/tag_v1", false, 1L, "1"),
            ("repositories/ns/b/_description", false, 1L, "d"),
            ("repositories/ns/b/big", false, 100L, null),
            ("repositories/ns/b/deep", true, 0L, null),
            ("repositories/ns/b/deep/more", true, 0L, null),
            ("repositories/ns/b/deep/more/file", false, 4L, "deep"),
            ("repositories/ns/b/tag_latest", false, 1L, "x"),
            ("repositories/ns/file", false, 1L, "f"));
        foreach (var entry in entries)
            entry.Modified.Should().Be(entry.IsDirectory ? null : await Driver.LastModifiedAsync(entry.Path, None), entry.Path);
        (await StorageSubtree.ReadAsync(Driver, "repositories/none", 10, None)).Should().BeEmpty();
        (await StorageSubtree.ReadAsync(Driver, "repositories/ns/file", 10, None)).Should().BeEmpty("an object has nothing below it");
    }

    [Test]
    public async Task A_two_level_listing_answers_what_listing_each_child_answers()
    {
        await SeedTreeAsync();
        var expected = new List<(string, IReadOnlyList<string>)>();
        foreach (var child in await Driver.ListAsync("repositories/ns", None)) expected.Add((child, await Driver.ListAsync(child, None)));

        var listed = Driver.Find<ITreeListing>() is { } tree ? await tree.ListTwoLevelsAsync("repositories/ns", None) : expected;

        listed.Should().BeEquivalentTo(expected, options => options.WithStrictOrdering());
        listed.Select(l => l.Path).Should().Equal("repositories/ns/a", "repositories/ns/b", "repositories/ns/b-c", "repositories/ns/file");
        listed[1].Children.Should().Equal(
            "repositories/ns/b/_description", "repositories/ns/b/big", "repositories/ns/b/deep", "repositories/ns/b/tag_latest");
        listed[3].Children.Should().BeEmpty();
        if (Driver.Find<ITreeListing>() is { } listing) (await listing.ListTwoLevelsAsync("repositories/none", None)).Should().BeEmpty();
    }

    [Test]
    public async Task Reading_each_childs_subtree_answers_what_a_subtree_read_of_each_child_answers()
    {
        await SeedTreeAsync();
        await Driver.PutContentAsync("repositories/ns/skipped/tag_latest", Utf8("s"), None);
        var expected = new List<(string, IReadOnlyList<StorageEntry>)>();
        foreach (var child in await Driver.ListAsync("repositories/ns", None))
            if (!child.EndsWith("/skipped", StringComparison.Ordinal) && await StorageSubtree.ReadAsync(Driver, child, -1, None) is { Count: > 0 } entries)
                expected.Add((child, entries));

        var read = new List<(string, IReadOnlyList<StorageEntry>)>();
        await foreach (var child in StorageSubtree.ReadChildrenAsync(Driver, "repositories/ns", c => !c.EndsWith("/skipped", StringComparison.Ordinal), None)) read.Add(child);

        read.Should().BeEquivalentTo(expected, options => options.WithStrictOrdering());
        read.Select(r => r.Item1).Should().Equal("repositories/ns/a", "repositories/ns/b", "repositories/ns/b-c");
        (await ToListAsync(StorageSubtree.ReadChildrenAsync(Driver, "repositories/none", _ => true, None))).Should().BeEmpty();
    }

    [TestCase("repositories/ns/b", "repositories/ns/b", new[] { "repositories/ns/b" })]
    [TestCase("repositories/ns/b", "repositories/ns/b-c", new[] { "repositories/ns/b", "repositories/ns/b-c" })]
    [TestCase("repositories/ns/a", "repositories/ns/b-c", new[] { "repositories/ns/a", "repositories/ns/b", "repositories/ns/b-c" })]
    [TestCase("repositories/ns/a0", "repositories/ns/b", new[] { "repositories/ns/b" })]
    [TestCase("repositories/ns/b-", "repositories/ns/b-d", new[] { "repositories/ns/b-c" })]
    [TestCase("repositories/ns/c", "repositories/ns/z", new string[0])]
    public async Task Reading_a_range_of_children_answers_what_the_whole_read_answers_for_those_children(string first, string last, string[] children)
    {
        await SeedTreeAsync();
        await Driver.PutContentAsync("repositories/ns/b/c/deeper", Utf8("c"), None);
        var whole = await ToListAsync(StorageSubtree.ReadChildrenAsync(Driver, "repositories/ns", _ => true, None));

        var read = await ToListAsync(StorageSubtree.ReadChildrenAsync(Driver, "repositories/ns", _ => true, None, new ChildRange(first, last)));

        read.Select(r => r.Child).Should().Equal(children);
        read.Should().BeEquivalentTo(whole.Where(w => children.Contains(w.Child)), options => options.WithStrictOrdering());
        (await ToListAsync(StorageSubtree.ReadChildrenAsync(Driver, "repositories/ns", c => c != "repositories/ns/b", None, new ChildRange(first, last))))
            .Select(r => r.Child).Should().Equal(children.Where(c => c != "repositories/ns/b"));
    }

    [Test]
    public async Task The_image_walk_answers_every_wanted_image_directory_in_id_order()
    {
        // Ids under every first hex digit, short ids, and what is no image directory.
        var ids = Enumerable.Range(0, 48).Select(i => $"{"0123456789abcdef"[i % 16]}{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())}{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())[..31]}")
            .Concat(["0123456789abcdef", "ffffffffffffffff"]).ToList();
        foreach (var id in ids) await Driver.PutContentAsync($"images/{id}/json", Utf8("{}"), None);
        await Driver.PutContentAsync($"images/{ids[0].ToUpperInvariant()}/json", Utf8("{}"), None);
        await Driver.PutContentAsync("images/not-an-id/json", Utf8("{}"), None);
        await Driver.PutContentAsync("images/stray", Utf8(""), None);
        var skipped = ids.Where((_, i) => i % 3 == 0).ToHashSet();

        var found = new List<string>();
        await foreach (var (id, dir, entries) in StorageTree.ImagesAsync(Driver, i => !skipped.Contains(i.Value), None))
        {
            dir.Should().Be(StoragePaths.ImageDir(id));
            entries.Select(e => e.Path).Should().Equal($"{dir}/json");
            found.Add(id.Value);
        }

        found.Should().Equal(ids.Where(i => !skipped.Contains(i)).Order(StringComparer.Ordinal));
    }

    [Test]
    public async Task A_subtree_read_reports_each_objects_own_content_whatever_the_caller_expects()
    {
        await Driver.PutContentAsync("links/a/link", Utf8("expected"), None);
        await Driver.PutContentAsync("links/b/link", Utf8("actual"), None);
        await Driver.PutContentAsync("links/c/link", Utf8("same-size"), None);

        var entries = await StorageSubtree.ReadAsync(Driver, "links", 100, (path, _) => path.EndsWith("/link", StringComparison.Ordinal)
            ? Utf8(path.Contains("/c/", StringComparison.Ordinal) ? "sane-size" : "expected") : null, None);

        entries.Where(e => !e.IsDirectory).Select(e => (e.Path, Encoding.UTF8.GetString(e.Content!))).Should().Equal(
            ("links/a/link", "expected"), ("links/b/link", "actual"), ("links/c/link", "same-size"));
    }

    [Test]
    public async Task The_walk_of_every_v2_repository_finds_what_the_catalog_walk_finds_in_the_same_order()
    {
        var root = Registry.Core.Distribution.DistributionPaths.RepositoriesDir;
        foreach (var key in new[] { "a/_layers/l", "a/b/_manifests/m", "a/b/c/_uploads/u", "a-x/_manifests/m", "a/_private", "d/e/f/_layers/l", "g/notdata/x", "file" })
            await Driver.PutContentAsync($"{root}/{key}", Utf8("x"), None);
        var data = new HashSet<string>(StringComparer.Ordinal) { "_manifests", "_layers", "_uploads" };

        var expected = await ToListAsync(Registry.Core.Distribution.DistributionTree.RepositoriesAsync(Driver, data, int.MaxValue, None));
        var all = await ToListAsync(Registry.Core.Distribution.DistributionTree.AllRepositoriesAsync(Driver, data, None));

        all.Should().Equal(expected);
        all.Should().Equal("a", "a/b", "a/b/c", "a-x", "d/e/f");
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items) list.Add(item);
        return list;
    }

    private async Task<string> ReadAllAsync(string key, long offset)
    {
        await using var stream = await Driver.OpenReadAsync(key, offset, None);
        stream.Should().NotBeNull();
        using var reader = new StreamReader(stream!);
        return await reader.ReadToEndAsync();
    }
}
