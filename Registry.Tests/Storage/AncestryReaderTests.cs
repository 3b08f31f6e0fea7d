using System.Text;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.Tests.Storage;

/// <summary>
/// The one ancestry reader over the shapes of ancestry data found on disk: a current ancestry file, an image
/// without one (very old servers: only the <c>parent</c> chain) and damaged files, plus the parent rule PUT json uses.
/// </summary>
public class AncestryReaderTests
{
    private static readonly string Root = new('a', 64);
    private static readonly string Middle = new('b', 64);
    private static readonly string Leaf = new('c', 64);

    private InMemoryStorageDriver _storage = null!;

    [SetUp]
    public void SetUp() => _storage = new InMemoryStorageDriver();

    private static ImageId Id(string value)
    {
        ImageId.TryParse(value, out var id).Should().BeTrue();
        return id;
    }

    private Task Json(string id, string json) =>
        _storage.PutContentAsync(StoragePaths.ImageJson(Id(id)), Encoding.UTF8.GetBytes(json), CancellationToken.None);

    private Task Ancestry(string id, string json) =>
        _storage.PutContentAsync(StoragePaths.ImageAncestry(Id(id)), Encoding.UTF8.GetBytes(json), CancellationToken.None);

    private Task<IReadOnlyList<string>> ReadAsync(string id) => AncestryReader.ReadAsync(_storage, Id(id), CancellationToken.None);

    /// <summary>Three images chained by their json <c>parent</c> fields, none with an ancestry file.</summary>
    private async Task ChainAsync()
    {
        await Json(Root, $"{{\"id\": \"{Root}\"}}");
        await Json(Middle, $"{{\"id\": \"{Middle}\", \"parent\": \"{Root}\"}}");
        await Json(Leaf, $"{{\"id\": \"{Leaf}\", \"parent\": \"{Middle}\"}}");
    }

    [Test]
    public async Task An_ancestry_file_starting_with_the_image_is_taken_as_written()
    {
        await ChainAsync();
        // Deliberately different from the json chain: the file wins.
        await Ancestry(Leaf, $"[\"{Leaf}\", \"{Root}\"]");

        (await ReadAsync(Leaf)).Should().Equal(Leaf, Root);
    }

    [Test]
    public async Task Without_an_ancestry_file_the_parent_chain_is_followed_to_the_root()
    {
        await ChainAsync();

        (await ReadAsync(Leaf)).Should().Equal(Leaf, Middle, Root);
    }

    [TestCase("[]", TestName = "Empty list")]
    [TestCase("not json", TestName = "Not JSON")]
    [TestCase("null", TestName = "JSON null")]
    [TestCase("[1, 2]", TestName = "Not strings")]
    [TestCase("[\"LEAF\", null]", TestName = "A null entry")]
    [TestCase("[\"" + "d" + "\"]", TestName = "Another image first")]
    public async Task A_damaged_ancestry_file_falls_back_to_the_parent_chain(string stored)
    {
        await ChainAsync();
        await Ancestry(Leaf, stored.Replace("LEAF", Leaf));

        (await ReadAsync(Leaf)).Should().Equal(Leaf, Middle, Root);
    }

    [Test]
    public async Task An_image_without_json_or_ancestry_is_its_own_ancestry()
    {
        (await ReadAsync(Leaf)).Should().Equal(Leaf);
    }

    [Test]
    public async Task The_chain_stops_at_a_missing_parent_json_after_naming_it()
    {
        await Json(Leaf, $"{{\"id\": \"{Leaf}\", \"parent\": \"{Middle}\"}}");

        (await ReadAsync(Leaf)).Should().Equal(Leaf, Middle);
    }

    [Test]
    public async Task The_chain_stops_at_a_cycle()
    {
        await Json(Leaf, $"{{\"id\": \"{Leaf}\", \"parent\": \"{Middle}\"}}");
        await Json(Middle, $"{{\"id\": \"{Middle}\", \"parent\": \"{Leaf}\"}}");

        (await ReadAsync(Leaf)).Should().Equal(Leaf, Middle);
    }

    [TestCase("null")]
    [TestCase("\"\"")]
    [TestCase("false")]
    [TestCase("0")]
    [TestCase("[]")]
    [TestCase("{}")]
    [TestCase("\"not-an-id\"")]
    public async Task A_falsy_or_malformed_parent_ends_the_chain(string parent)
    {
        await Json(Leaf, $"{{\"id\": \"{Leaf}\", \"parent\": {parent}}}");

        (await ReadAsync(Leaf)).Should().Equal(Leaf);
    }

    [Test]
    public async Task A_truthy_non_string_parent_whose_text_is_an_id_is_followed_as_put_json_accepts_it()
    {
        var numeric = new string('1', 64);
        await Json(Leaf, $"{{\"id\": \"{Leaf}\", \"parent\": {numeric}}}");

        (await ReadAsync(Leaf)).Should().Equal(Leaf, numeric);
    }

    [TestCase("{\"parent\": \"x\"}", "x")]
    [TestCase("{\"parent\": 12}", "12")]
    [TestCase("{\"parent\": \"\"}", null)]
    [TestCase("{\"parent\": null}", null)]
    [TestCase("{}", null)]
    [TestCase("[\"parent\"]", null)]
    public void ParentOf_is_the_text_of_a_truthy_parent(string json, string? expected)
    {
        using var doc = JsonDocument.Parse(json);
        AncestryReader.ParentOf(doc.RootElement).Should().Be(expected);
    }
}
