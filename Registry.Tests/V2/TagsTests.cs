using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V2;

public class TagsTests
{
    private const string Repo = "discovery/repo";

    // Ordinal order: digits < upper case < '_' < lower case.
    private static readonly string[] Sorted = ["0.1", "A", "Z", "_x", "a", "a-b", "a.b", "latest", "v1", "v10", "v2"];

    private static async Task<TestRegistry> StartWithTagsAsync()
    {
        var registry = TestRegistry.Start();
        var manifest = await V2Seed.PushImageAsync(registry, Repo, "latest");
        foreach (var tag in Sorted.Reverse().Where(t => t != "latest"))
            await registry.Client.PushManifestAsync(Repo, tag, manifest);
        return registry;
    }

    private static string Body(params string[] tags) =>
        $"{{\"name\":\"{Repo}\",\"tags\":[{string.Join(",", tags.Select(t => $"\"{t}\""))}]}}";

    [Test]
    public async Task All_tags_in_ordinal_order_without_a_link()
    {
        await using var registry = await StartWithTagsAsync();
        using var response = await registry.Client.GetAsync($"/v2/{Repo}/tags/list");
        ((int)response.StatusCode).Should().Be(200);
        response.Header("Content-Type").Should().Be("application/json");
        response.Header("Link").Should().BeNull();
        response.Header("Docker-Distribution-API-Version").Should().Be("registry/2.0");
        (await response.Content.ReadAsStringAsync()).Should().Be(Body(Sorted));
    }

    [Test]
    public async Task Pages_follow_last_and_n_with_an_exact_link_until_the_end()
    {
        await using var registry = await StartWithTagsAsync();
        using (var first = await registry.Client.GetAsync($"/v2/{Repo}/tags/list?n=4"))
        {
            (await first.Content.ReadAsStringAsync()).Should().Be(Body("0.1", "A", "Z", "_x"));
            first.Header("Link").Should().Be($"</v2/{Repo}/tags/list?last=_x&n=4>; rel=\"next\"");
        }
        using (var second = await registry.Client.GetAsync($"/v2/{Repo}/tags/list?last=_x&n=4"))
        {
            (await second.Content.ReadAsStringAsync()).Should().Be(Body("a", "a-b", "a.b", "latest"));
            second.Header("Link").Should().Be($"</v2/{Repo}/tags/list?last=latest&n=4>; rel=\"next\"");
        }
        using (var last = await registry.Client.GetAsync($"/v2/{Repo}/tags/list?last=latest&n=4"))
        {
            (await last.Content.ReadAsStringAsync()).Should().Be(Body("v1", "v10", "v2"));
            last.Header("Link").Should().BeNull();
        }
        using (var exact = await registry.Client.GetAsync($"/v2/{Repo}/tags/list?last=latest&n=3"))
        {
            (await exact.Content.ReadAsStringAsync()).Should().Be(Body("v1", "v10", "v2"));
            exact.Header("Link").Should().BeNull("nothing follows");
        }
    }

    [Test]
    public async Task Last_need_not_exist_and_works_without_n()
    {
        await using var registry = await StartWithTagsAsync();
        using var response = await registry.Client.GetAsync($"/v2/{Repo}/tags/list?last=b");
        (await response.Content.ReadAsStringAsync()).Should().Be(Body("latest", "v1", "v10", "v2"));
        response.Header("Link").Should().BeNull();
    }

    [Test]
    public async Task N_zero_is_an_empty_list_without_a_link()
    {
        await using var registry = await StartWithTagsAsync();
        using var response = await registry.Client.GetAsync($"/v2/{Repo}/tags/list?n=0");
        ((int)response.StatusCode).Should().Be(200);
        (await response.Content.ReadAsStringAsync()).Should().Be(Body());
        response.Header("Link").Should().BeNull();
    }

    [TestCase("-1")]
    [TestCase("abc")]
    [TestCase("1.5")]
    [TestCase("99999999999")]
    public async Task A_bad_n_is_400_pagination_number_invalid(string n)
    {
        await using var registry = await StartWithTagsAsync();
        using var response = await registry.Client.GetAsync($"/v2/{Repo}/tags/list?n={n}");
        ((int)response.StatusCode).Should().Be(400);
        (await response.Content.ReadAsStringAsync()).Should().Be(
            $"{{\"errors\":[{{\"code\":\"PAGINATION_NUMBER_INVALID\",\"message\":\"invalid number of results requested\",\"detail\":{{\"n\":\"{n}\"}}}}]}}");
    }

    [Test]
    public async Task An_unknown_repository_is_404_name_unknown()
    {
        await using var registry = TestRegistry.Start();
        using var response = await registry.Client.GetAsync("/v2/never/pushed/tags/list");
        ((int)response.StatusCode).Should().Be(404);
        (await response.Content.ReadAsStringAsync()).Should().Be(
            "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository name not known to registry\",\"detail\":{\"name\":\"never/pushed\"}}]}");
    }

    [Test]
    public async Task Names_with_route_words_and_a_trailing_slash_are_listed()
    {
        await using var registry = TestRegistry.Start();
        await V2Seed.PushImageAsync(registry, "a/tags/list", "t1");
        using var response = await registry.Client.GetAsync("/v2/a/tags/list/tags/list/");
        ((int)response.StatusCode).Should().Be(200);
        (await response.Content.ReadAsStringAsync()).Should().Be("{\"name\":\"a/tags/list\",\"tags\":[\"t1\"]}");
    }

    [Test]
    public async Task Discovery_checks_half_the_tags_then_the_rest_after_last()
    {
        await using var registry = await StartWithTagsAsync();
        var k = Sorted.Length / 2;
        using var first = await registry.Client.GetAsync($"/v2/{Repo}/tags/list?n={k}");
        (await first.Content.ReadAsStringAsync()).Should().Be(Body(Sorted[..k]));
        using var rest = await registry.Client.GetAsync($"/v2/{Repo}/tags/list?n={Sorted.Length}&last={Sorted[k - 1]}");
        (await rest.Content.ReadAsStringAsync()).Should().Be(Body(Sorted[k..]));
    }
}
