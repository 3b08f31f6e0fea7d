using System.Text.Json.Nodes;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Http;
using Registry.Index.Modules;
using Registry.Index.Search;

namespace Registry.Tests.Search;

/// <summary>The search body is written directly; it must stay byte for byte what PyJson makes of the JSON tree.</summary>
public class SearchBodyTests
{
    [Test]
    public void The_written_body_equals_the_serialised_tree_for_awkward_text()
    {
        var random = new Random(7);
        string[] pieces = ["a", "Ünï", "\"", "\\", "\n", "\t", "\u0001", "😀", "é", "/", "library/", " ", "{}", "</x>"];
        string Text() => string.Concat(Enumerable.Range(0, random.Next(0, 6)).Select(_ => pieces[random.Next(pieces.Length)]));
        for (var round = 0; round < 200; round++)
        {
            var results = Enumerable.Range(0, random.Next(0, 5))
                .Select(i => new SearchEntry((random.Next(3) == 0 ? "library/" : "") + Text() + i, Text(), random.Next(0, 3) * 1000))
                .ToList();
            var found = new SearchPage(random.NextInt64(0, 5_000_000_000), results);
            var query = Text();
            var pageSize = random.Next(1, 101);
            var page = random.Next(3) == 0 ? int.MaxValue : random.Next(1, 50);

            SearchModule.SearchBody(found, query, pageSize, page).Should().Be(PyJson.Serialize(Tree(found, query, pageSize, page)));
        }
    }

    /// <summary>The tree the module used to build.</summary>
    private static JsonObject Tree(SearchPage found, string query, int pageSize, int page)
    {
        var results = new JsonArray();
        foreach (var entry in found.Results)
        {
            results.Add(new JsonObject
            {
                ["description"] = entry.Description,
                ["is_automated"] = false,
                ["is_official"] = entry.Name.StartsWith("library/", StringComparison.Ordinal),
                ["is_trusted"] = false,
                ["name"] = entry.Name,
                ["star_count"] = entry.StarCount,
            });
        }

        return new JsonObject
        {
            ["num_pages"] = Math.Max(1, (found.NumResults + pageSize - 1) / pageSize),
            ["num_results"] = found.NumResults,
            ["page"] = page,
            ["page_size"] = pageSize,
            ["query"] = query,
            ["results"] = results,
        };
    }
}
