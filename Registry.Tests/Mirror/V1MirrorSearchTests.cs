using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;
using static Registry.Tests.Mirror.V1MirrorKit;

namespace Registry.Tests.Mirror;

/// <summary>
/// <c>/v1/search</c> on a V1 mirror (docs/configuration.md, 'V1 mirroring'): local matches first, then the upstream
/// index's, one entry per name, counted and paged as one list; the upstream down leaves the local results.
/// </summary>
public class V1MirrorSearchTests
{
    private static string Entry(string name) =>
        $"{{\"description\": \"\", \"is_automated\": false, \"is_official\": false, \"is_trusted\": false, \"name\": \"{name}\", \"star_count\": 0}}";

    private static string Body(int pages, int total, int page, int size, params string[] names) =>
        $"{{\"num_pages\": {pages}, \"num_results\": {total}, \"page\": {page}, \"page_size\": {size}, \"query\": \"alpha\", " +
        $"\"results\": [{string.Join(", ", names.Select(Entry))}]}}";

    [Test]
    public async Task Upstream_results_follow_local_ones_once_each_and_the_upstream_down_leaves_the_local_ones()
    {
        await using var upstream = await StartUpstreamAsync();
        await PushAsync(upstream.Client, "shared/alpha", "latest", V1Client.RandomBytes(100));
        await PushAsync(upstream.Client, "upstream/alpha-tools", "latest", V1Client.RandomBytes(100));
        await using var mirror = StartMirror(upstream);
        var client = mirror.Client;
        await PushAsync(client, "local/alpha", "latest", V1Client.RandomBytes(100));

        (await client.GetAsync("/v1/search?q=alpha").ReadAsync())
            .Should().Be((200, Body(1, 3, 1, 25, "local/alpha", "shared/alpha", "upstream/alpha-tools")));

        // Pulled through the mirror, shared/alpha is local content: listed locally, and still once.
        (await client.GetAsync("/v1/repositories/shared/alpha/tags").ReadAsync()).Status.Should().Be(200);
        (await mirror.Search.SearchAsync("alpha", 10, 1, CancellationToken.None)).Results.Select(r => r.Name)
            .Should().Equal("local/alpha", "shared/alpha");
        (await client.GetAsync("/v1/search?q=alpha").ReadAsync())
            .Should().Be((200, Body(1, 3, 1, 25, "local/alpha", "shared/alpha", "upstream/alpha-tools")));
        (await client.GetAsync("/v1/search?q=alpha&n=2&page=1").ReadAsync())
            .Should().Be((200, Body(2, 3, 1, 2, "local/alpha", "shared/alpha")));
        (await client.GetAsync("/v1/search?q=alpha&n=2&page=2").ReadAsync())
            .Should().Be((200, Body(2, 3, 2, 2, "upstream/alpha-tools")));

        await upstream.StopAsync();
        (await client.GetAsync("/v1/search?q=alpha").ReadAsync())
            .Should().Be((200, Body(1, 2, 1, 25, "local/alpha", "shared/alpha")));
        (await client.GetAsync("/v1/search?q=alpha&n=1&page=2").ReadAsync())
            .Should().Be((200, Body(2, 2, 2, 1, "shared/alpha")));
    }
}
