using System.Text.Json.Nodes;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Index;

public class SearchEndpointTests : RegistryTestBase
{
    private async Task<JsonObject> SearchAsync(string query)
    {
        var (status, body) = await Client.GetAsync("/v1/search" + query).ReadAsync();
        status.Should().Be(200, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    private static IEnumerable<string> Names(JsonObject page) => page["results"]!.AsArray().Select(r => (string)r!["name"]!);

    [Test]
    public async Task Search_answers_the_spec_shape_with_exact_bytes()
    {
        await Client.PutIndexAsync("/v1/repositories/busybox/", "[]");
        await Client.PutIndexAsync("/v1/repositories/team/busybox-extras/", "[]");
        var (status, body) = await Client.GetAsync("/v1/search?q=bus").ReadAsync();
        status.Should().Be(200);
        body.Should().Be(
            "{\"num_pages\": 1, \"num_results\": 2, \"page\": 1, \"page_size\": 25, \"query\": \"bus\", \"results\": [" +
            "{\"description\": \"\", \"is_automated\": false, \"is_official\": true, \"is_trusted\": false, \"name\": \"library/busybox\", \"star_count\": 0}, " +
            "{\"description\": \"\", \"is_automated\": false, \"is_official\": false, \"is_trusted\": false, \"name\": \"team/busybox-extras\", \"star_count\": 0}]}");
    }

    [Test]
    public async Task Paging_with_n_7_over_30_matches_yields_each_name_once()
    {
        var expected = Enumerable.Range(0, 30).Select(i => $"bulk/searchme-{i:D2}").ToList();
        foreach (var name in expected) await Client.PutIndexAsync($"/v1/repositories/{name}/", "[]");
        await Client.PutIndexAsync("/v1/repositories/other/thing/", "[]");

        var seen = new List<string>();
        for (var page = 1; page <= 6; page++)
        {
            var result = await SearchAsync($"?q=searchme&n=7&page={page}");
            result["num_results"]!.GetValue<long>().Should().Be(30);
            result["num_pages"]!.GetValue<long>().Should().Be(5);
            result["page"]!.GetValue<int>().Should().Be(page);
            result["page_size"]!.GetValue<int>().Should().Be(7);
            var names = Names(result).ToList();
            names.Count.Should().Be(page < 5 ? 7 : page == 5 ? 2 : 0);
            seen.AddRange(names);
        }
        seen.Should().Equal(expected);
    }

    [TestCase("?q=a&n=abc", 25, 1)]
    [TestCase("?q=a&n=0", 1, 1)]
    [TestCase("?q=a&n=-5", 1, 1)]
    [TestCase("?q=a&n=1000", 100, 1)]
    [TestCase("?q=a&n=99999999999999999999999", 100, 1)]
    [TestCase("?q=a&page=0", 25, 1)]
    [TestCase("?q=a&page=-1", 25, 1)]
    [TestCase("?q=a&page=x", 25, 1)]
    [TestCase("?q=a&page=7", 25, 7)]
    public async Task Paging_parameters_are_clamped(string query, int pageSize, int page)
    {
        await Client.PutIndexAsync("/v1/repositories/ns/a/", "[]");
        var result = await SearchAsync(query);
        result["page_size"]!.GetValue<int>().Should().Be(pageSize);
        result["page"]!.GetValue<int>().Should().Be(page);
        result["num_results"]!.GetValue<long>().Should().Be(1);
        Names(result).Should().HaveCount(page == 1 ? 1 : 0);
    }

    [Test]
    public async Task Missing_q_matches_everything_and_metacharacters_are_literal()
    {
        foreach (var name in new[] { "ns/abc", "ns/a_c", "ns/a%c" }) await Client.PutIndexAsync($"/v1/repositories/{name.Replace("%", "%25")}/", "[]");
        (await SearchAsync(""))["num_results"]!.GetValue<long>().Should().Be(3);
        Names(await SearchAsync("?q=_")).Should().Equal("ns/a_c");
        // Names are reported in their logical (once-escaped) form: "a%c" is "a%25c".
        Names(await SearchAsync("?q=%25")).Should().Equal("ns/a%25c");
        Names(await SearchAsync("?q=%27%3B%20DROP%20TABLE%20repositories%3B--")).Should().BeEmpty();
        Names(await SearchAsync("?q=ABC")).Should().Equal("ns/abc");
    }

    [Test]
    public async Task Overlong_query_answers_400()
    {
        var (status, body) = await Client.GetAsync("/v1/search?q=" + new string('x', 10_000)).ReadAsync();
        (status, body).Should().Be((400, "{\"error\": \"Search term too long (at most 255 characters)\"}"));
    }

    [Test]
    public async Task Invalid_utf8_in_query_is_a_4xx_or_a_clean_answer()
    {
        var (status, _) = await Client.GetAsync("/v1/search?q=%FF%FE").ReadAsync();
        status.Should().BeInRange(200, 499);
    }

    [Test]
    public async Task Search_follows_tags_descriptions_and_deletes()
    {
        var id = V1Client.NewImageId();
        await Client.PushImageAsync(id, [1]);
        await Client.PutTagAsync("team/tagged", "latest", id);
        Names(await SearchAsync("?q=tagged")).Should().Equal("team/tagged");

        (await Client.PutAsync("/v1/repositories/team/tagged/properties", new StringContent("{\"description\": \"A Shiny Thing\"}")).ReadAsync()).Status.Should().Be(200);
        var byDescription = await SearchAsync("?q=shiny");
        Names(byDescription).Should().Equal("team/tagged");
        byDescription["results"]![0]!["description"]!.GetValue<string>().Should().Be("A Shiny Thing");

        await Client.DeleteAsync("/v1/repositories/team/tagged/tags/latest");
        Names(await SearchAsync("?q=tagged")).Should().BeEmpty();

        await Client.PutTagAsync("team/tagged", "latest", id);
        Names(await SearchAsync("?q=shiny")).Should().Equal("team/tagged");
        await Client.DeleteAsync("/v1/repositories/team/tagged/");
        Names(await SearchAsync("?q=tagged")).Should().BeEmpty();
    }

    [Test]
    public async Task Relevance_order_exact_then_prefix_then_substring_then_description()
    {
        foreach (var name in new[] { "zzz/xredis", "aaa/redis-tools", "ns/redis", "other/thing" })
            await Client.PutIndexAsync($"/v1/repositories/{name}/", "[]");
        await Client.PutAsync("/v1/repositories/other/thing/properties", new StringContent("{\"description\": \"uses redis\"}"));
        Names(await SearchAsync("?q=redis")).Should().Equal("ns/redis", "aaa/redis-tools", "zzz/xredis", "other/thing");
    }

    [Test]
    public async Task Search_disabled_by_the_flavor_answers_a_json_404()
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["SEARCH_BACKEND"] = "" });
        (await registry.Client.GetAsync("/v1/search?q=x").ReadAsync())
            .Should().Be((404, "{\"error\": \"Search is disabled on this registry (search_backend is not set)\"}"));
    }

    [Test]
    public async Task Restart_with_an_empty_database_rebuilds_from_storage()
    {
        await Client.PutIndexAsync("/v1/repositories/ns/kept/", "[]");
        await Client.PutAsync("/v1/repositories/ns/kept/properties", new StringContent("{\"description\": \"survives\"}"));
        var root = Registry.Root;
        await Registry.StopAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var f in Directory.GetFiles(root, "search.db*")) File.Delete(f);

        Registry = TestRegistry.Start(root: root);
        var result = await SearchAsync("?q=survives");
        Names(result).Should().Equal("ns/kept");
    }
}
