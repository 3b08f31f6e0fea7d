using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Hub;

/// <summary>
/// The Hub API (README, 'Stars, comments and descriptions') through HTTP against the real app with htpasswd auth:
/// alice owns alice/app and the private alice/secret, bob owns bob/tool, root is an admin.
/// </summary>
[TestFixture]
public sealed partial class HubApiTests
{
    private const string Challenge = "Basic realm=\"Test Realm\"";
    private TestRegistry _registry = null!;

    [SetUp]
    public async Task SetUpAsync()
    {
        _registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw", "bob:bob-pw", "root:root-pw"],
            new Dictionary<string, string> { ["REGISTRY_AUTH_ADMINS"] = "root" });
        await HubSeed.PushAsync(_registry, "root", "alice/app", "alice/secret", "bob/tool", "library/busybox");
        (await SendAsync(HttpMethod.Put, "/v1/repositories/alice/secret/properties", "alice", "{\"access\": \"private\"}")).Status.Should().Be(HttpStatusCode.OK);
    }

    [TearDown]
    public async Task TearDownAsync() => await _registry.DisposeAsync();

    [Test]
    public async Task Star_and_unstar_are_idempotent_and_counted_in_the_summary()
    {
        (await SendAsync(HttpMethod.Put, "/v1/repositories/bob/tool/star", "alice")).Should().Be((HttpStatusCode.NoContent, ""));
        (await SendAsync(HttpMethod.Put, "/v1/repositories/bob/tool/star", "alice")).Should().Be((HttpStatusCode.NoContent, ""));
        (await SendAsync(HttpMethod.Put, "/v1/repositories/bob/tool/star", "bob")).Should().Be((HttpStatusCode.NoContent, ""));

        (await SendAsync(HttpMethod.Get, "/v1/repositories/bob/tool", "alice")).Should().Be((HttpStatusCode.OK,
            "{\"comment_count\": 0, \"description\": \"\", \"is_private\": false, \"name\": \"bob/tool\", \"star_count\": 2, \"starred\": true}"));
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/bob/tool/star", "alice")).Should().Be((HttpStatusCode.NoContent, ""));
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/bob/tool/star", "alice")).Should().Be((HttpStatusCode.NoContent, ""));
        (await SendAsync(HttpMethod.Get, "/v1/repositories/bob/tool", "alice")).Should().Be((HttpStatusCode.OK,
            "{\"comment_count\": 0, \"description\": \"\", \"is_private\": false, \"name\": \"bob/tool\", \"star_count\": 1, \"starred\": false}"));
        (await SendAsync(HttpMethod.Get, "/v1/repositories/bob/tool", null)).Should().Be((HttpStatusCode.OK,
            "{\"comment_count\": 0, \"description\": \"\", \"is_private\": false, \"name\": \"bob/tool\", \"star_count\": 1, \"starred\": false}"));
    }

    [Test]
    public async Task One_part_names_are_library_repositories_in_the_summary_and_hub_routes_need_two_parts()
    {
        (await SendAsync(HttpMethod.Put, "/v1/repositories/library/busybox/star", "bob")).Should().Be((HttpStatusCode.NoContent, ""));
        (await SendAsync(HttpMethod.Get, "/v1/repositories/busybox", "bob")).Should().Be((HttpStatusCode.OK,
            "{\"comment_count\": 0, \"description\": \"\", \"is_private\": false, \"name\": \"library/busybox\", \"star_count\": 1, \"starred\": true}"));
        // "busybox/star" is the repository busybox/star, which does not exist: never library/busybox's star.
        (await SendAsync(HttpMethod.Get, "/v1/repositories/busybox/star", "bob")).Should().Be((HttpStatusCode.NotFound, "{\"error\": \"Repository not found\"}"));
    }

    [Test]
    public async Task Anonymous_and_wrong_credentials_get_401_with_the_challenge()
    {
        foreach (var (method, path, body, error) in new[]
                 {
                     (HttpMethod.Put, "/v1/repositories/bob/tool/star", (string?)null, "Authentication required to star"),
                     (HttpMethod.Delete, "/v1/repositories/bob/tool/star", null, "Authentication required to star"),
                     (HttpMethod.Post, "/v1/repositories/bob/tool/comments", "{\"comment\": \"hi\"}", "Authentication required to comment"),
                     (HttpMethod.Delete, "/v1/repositories/bob/tool/comments/1", null, "Authentication required to delete a comment"),
                 })
        {
            using var response = await SendRawAsync(method, path, null, body);
            (response.StatusCode, await response.Content.ReadAsStringAsync()).Should().Be((HttpStatusCode.Unauthorized, $"{{\"error\": \"{error}\"}}"), path);
            response.Headers.WwwAuthenticate.ToString().Should().Be(Challenge);
        }

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/bob/tool/comments");
        wrong.Headers.Authorization = TestRegistry.Basic("alice", "not-her-password");
        using var refused = await _registry.Client.SendAsync(wrong);
        (refused.StatusCode, await refused.Content.ReadAsStringAsync()).Should().Be((HttpStatusCode.Unauthorized, "{\"error\": \"Invalid credentials\"}"));
        refused.Headers.WwwAuthenticate.ToString().Should().Be(Challenge);
    }

    [Test]
    public async Task Unknown_repositories_and_private_ones_the_caller_may_not_read_are_404_alike()
    {
        var notFound = (HttpStatusCode.NotFound, "{\"error\": \"Repository not found\"}");
        foreach (var user in new[] { "bob", null })
        {
            foreach (var name in new[] { "alice/secret", "nobody/none" })
            {
                if (user is not null)
                {
                    (await SendAsync(HttpMethod.Put, $"/v1/repositories/{name}/star", user)).Should().Be(notFound);
                    (await SendAsync(HttpMethod.Post, $"/v1/repositories/{name}/comments", user, "{\"comment\": \"hi\"}")).Should().Be(notFound);
                }

                (await SendAsync(HttpMethod.Get, $"/v1/repositories/{name}", user)).Should().Be(notFound);
                (await SendAsync(HttpMethod.Get, $"/v1/repositories/{name}/comments", user)).Should().Be(notFound);
                (await SendAsync(HttpMethod.Get, $"/v1/repositories/{name}/stargazers", user)).Should().Be(notFound);
            }
        }

        (await SendAsync(HttpMethod.Put, "/v1/repositories/alice/secret/star", "alice")).Status.Should().Be(HttpStatusCode.NoContent);
        (await SendAsync(HttpMethod.Put, "/v1/repositories/alice/secret/star", "root")).Status.Should().Be(HttpStatusCode.NoContent);
        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/secret", "root")).Should().Be((HttpStatusCode.OK,
            "{\"comment_count\": 0, \"description\": \"\", \"is_private\": true, \"name\": \"alice/secret\", \"star_count\": 2, \"starred\": true}"));
        var stargazers = await SendAsync(HttpMethod.Get, "/v1/repositories/alice/secret/stargazers", "alice");
        stargazers.Status.Should().Be(HttpStatusCode.OK);
        Times().Replace(stargazers.Body, "T").Should().Be("{\"next\": null, \"num_pages\": 1, \"num_results\": 2, \"page\": 1, \"page_size\": 25, " +
            "\"results\": [{\"starred\": \"T\", \"user\": \"alice\"}, {\"starred\": \"T\", \"user\": \"root\"}]}");
    }

    [Test]
    public async Task A_users_stars_leave_out_private_repositories_the_caller_may_not_read()
    {
        foreach (var name in new[] { "alice/app", "alice/secret", "bob/tool" })
            (await SendAsync(HttpMethod.Put, $"/v1/repositories/{name}/star", "alice")).Status.Should().Be(HttpStatusCode.NoContent);

        foreach (var (viewer, expected) in new[] { ("alice", 3), ("root", 3), ("bob", 2), ((string?)null, 2) })
        {
            var (status, body) = await SendAsync(HttpMethod.Get, "/v1/users/alice/starred", viewer);
            status.Should().Be(HttpStatusCode.OK);
            using var document = JsonDocument.Parse(body);
            var names = document.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()).ToList();
            names.Should().HaveCount(expected, viewer ?? "anonymous");
            names.Contains("alice/secret").Should().Be(expected == 3);
            document.RootElement.GetProperty("num_results").GetInt64().Should().Be(expected);
        }

        (await SendAsync(HttpMethod.Get, "/v1/users/nobody/starred", "bob")).Should().Be((HttpStatusCode.OK,
            "{\"next\": null, \"num_pages\": 1, \"num_results\": 0, \"page\": 1, \"page_size\": 25, \"results\": []}"));
    }

    [Test]
    public async Task Comments_are_listed_newest_first_in_pages_with_the_next_page()
    {
        for (var i = 1; i <= 5; i++)
            (await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/comments", i % 2 == 0 ? "bob" : "alice", $"{{\"comment\": \"  number {i}\\n  \"}}"))
                .Status.Should().Be(HttpStatusCode.Created);

        var first = await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app/comments?n=2", "bob");
        Times().Replace(first.Body, "T").Should().Be("{\"next\": \"/v1/repositories/alice/app/comments?page=2&n=2\", \"num_pages\": 3, \"num_results\": 5, " +
            "\"page\": 1, \"page_size\": 2, \"results\": [{\"comment\": \"number 5\", \"created\": \"T\", \"id\": 5, \"user\": \"alice\"}, " +
            "{\"comment\": \"number 4\", \"created\": \"T\", \"id\": 4, \"user\": \"bob\"}]}");
        var second = await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app/comments?page=2&n=2", null);
        Times().Replace(second.Body, "T").Should().Contain("\"next\": \"/v1/repositories/alice/app/comments?page=3&n=2\"")
            .And.Contain("{\"comment\": \"number 3\", \"created\": \"T\", \"id\": 3, \"user\": \"alice\"}, {\"comment\": \"number 2\"");
        var last = await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app/comments?page=3&n=2", "alice");
        Times().Replace(last.Body, "T").Should().Be("{\"next\": null, \"num_pages\": 3, \"num_results\": 5, \"page\": 3, \"page_size\": 2, " +
            "\"results\": [{\"comment\": \"number 1\", \"created\": \"T\", \"id\": 1, \"user\": \"alice\"}]}");
        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app/comments?page=4&n=2", "alice")).Should().Be((HttpStatusCode.OK,
            "{\"next\": null, \"num_pages\": 3, \"num_results\": 5, \"page\": 4, \"page_size\": 2, \"results\": []}"));
        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app", "alice")).Body.Should().Contain("\"comment_count\": 5");
    }

    [TestCase("page=0", "page must be a whole number from 1")]
    [TestCase("page=-1", "page must be a whole number from 1")]
    [TestCase("page=x", "page must be a whole number from 1")]
    [TestCase("page=99999999999", "page must be a whole number from 1")]
    [TestCase("n=0", "n must be a whole number from 1 to 100")]
    [TestCase("n=101", "n must be a whole number from 1 to 100")]
    [TestCase("n=1.5", "n must be a whole number from 1 to 100")]
    public async Task Bad_paging_is_400(string query, string error)
    {
        foreach (var path in new[] { "/v1/repositories/alice/app/comments", "/v1/repositories/alice/app/stargazers", "/v1/users/alice/starred" })
            (await SendAsync(HttpMethod.Get, $"{path}?{query}", "alice")).Should().Be((HttpStatusCode.BadRequest, $"{{\"error\": \"{error}\"}}"), path);
    }

    [Test]
    public async Task Page_sizes_from_1_to_100_are_accepted()
    {
        await SendAsync(HttpMethod.Put, "/v1/repositories/alice/app/star", "alice");
        await SendAsync(HttpMethod.Put, "/v1/repositories/alice/app/star", "bob");
        var one = await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app/stargazers?n=1&page=2", "alice");
        Times().Replace(one.Body, "T").Should().Be("{\"next\": null, \"num_pages\": 2, \"num_results\": 2, \"page\": 2, \"page_size\": 1, " +
            "\"results\": [{\"starred\": \"T\", \"user\": \"bob\"}]}");
        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app/stargazers?n=100", "alice")).Body.Should().Contain("\"page_size\": 100");
    }

    [TestCase("", "Error Decoding JSON: expected {\\\"comment\\\": \\\"...\\\"}")]
    [TestCase("not json", "Error Decoding JSON: expected {\\\"comment\\\": \\\"...\\\"}")]
    [TestCase("[\"hi\"]", "Error Decoding JSON: expected {\\\"comment\\\": \\\"...\\\"}")]
    [TestCase("{\"comment\": 5}", "Error Decoding JSON: expected {\\\"comment\\\": \\\"...\\\"}")]
    [TestCase("{\"comment\": null}", "Error Decoding JSON: expected {\\\"comment\\\": \\\"...\\\"}")]
    [TestCase("{\"text\": \"hi\"}", "Error Decoding JSON: expected {\\\"comment\\\": \\\"...\\\"}")]
    [TestCase("{\"comment\": \" \\n\\t \"}", "comment must not be empty")]
    [TestCase("{\"comment\": \"a\\u0000b\"}", "comment must not contain control characters")]
    [TestCase("{\"comment\": \"bell \\u0007\"}", "comment must not contain control characters")]
    [TestCase("{\"comment\": \"esc \\u001b[31m\"}", "comment must not contain control characters")]
    public async Task Bad_comments_are_400_and_not_stored(string body, string error)
    {
        (await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/comments", "bob", body))
            .Should().Be((HttpStatusCode.BadRequest, $"{{\"error\": \"{error}\"}}"));
        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app", "bob")).Body.Should().Contain("\"comment_count\": 0");
    }

    [Test]
    public async Task A_comment_is_at_most_4000_characters_after_trimming()
    {
        var longest = new string('x', 4000);
        var created = await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/comments", "bob", $"{{\"comment\": \"  {longest}  \"}}");
        created.Status.Should().Be(HttpStatusCode.Created);
        Times().Replace(created.Body, "T").Should().Be($"{{\"comment\": \"{longest}\", \"created\": \"T\", \"id\": 1, \"user\": \"bob\"}}");
        (await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/comments", "bob", $"{{\"comment\": \"{longest}x\"}}"))
            .Should().Be((HttpStatusCode.BadRequest, "{\"error\": \"comment is longer than 4000 characters\"}"));
        var markup = await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/comments", "bob", "{\"comment\": \"<script>alert(1)</script>\\r\\n\\tok\"}");
        Times().Replace(markup.Body, "T").Should().Be("{\"comment\": \"<script>alert(1)</script>\\r\\n\\tok\", \"created\": \"T\", \"id\": 2, \"user\": \"bob\"}",
            "the text is stored raw; rendering it safely is the page's job");
    }

    [Test]
    public async Task A_comment_is_deleted_by_its_author_or_an_admin_only()
    {
        await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/comments", "bob", "{\"comment\": \"by bob\"}");
        await SendAsync(HttpMethod.Post, "/v1/repositories/alice/app/comments", "alice", "{\"comment\": \"by alice\"}");

        (await SendAsync(HttpMethod.Delete, "/v1/repositories/alice/app/comments/1", "alice"))
            .Should().Be((HttpStatusCode.Forbidden, "{\"error\": \"Only the comment's author or an admin may delete it\"}"));
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/alice/app/comments/1", "bob")).Should().Be((HttpStatusCode.NoContent, ""));
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/alice/app/comments/1", "bob")).Should().Be((HttpStatusCode.NotFound, "{\"error\": \"Comment not found\"}"));
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/bob/tool/comments/2", "root"))
            .Should().Be((HttpStatusCode.NotFound, "{\"error\": \"Comment not found\"}"), "a comment is deleted only through its own repository");
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/alice/app/comments/2", "root")).Should().Be((HttpStatusCode.NoContent, ""));
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/alice/app/comments/abc", "bob")).Should().Be((HttpStatusCode.BadRequest, "{\"error\": \"Invalid comment id\"}"));
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/alice/app/comments/-1", "bob")).Should().Be((HttpStatusCode.BadRequest, "{\"error\": \"Invalid comment id\"}"));
        (await SendAsync(HttpMethod.Delete, "/v1/repositories/alice/app/comments/99999999999999999999", "bob"))
            .Should().Be((HttpStatusCode.BadRequest, "{\"error\": \"Invalid comment id\"}"));
        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app/comments", "alice")).Body.Should().Contain("\"num_results\": 0");
    }

    [Test]
    public async Task A_description_set_through_properties_is_in_the_summary()
    {
        (await SendAsync(HttpMethod.Put, "/v1/repositories/alice/app/properties", "alice", "{\"description\": \"The *app*\"}")).Status.Should().Be(HttpStatusCode.OK);
        (await SendAsync(HttpMethod.Get, "/v1/repositories/alice/app", "bob")).Should().Be((HttpStatusCode.OK,
            "{\"comment_count\": 0, \"description\": \"The *app*\", \"is_private\": false, \"name\": \"alice/app\", \"star_count\": 0, \"starred\": false}"));
    }

    /// <summary>ISO 8601 UTC times, which the tests cannot predict.</summary>
    [GeneratedRegex(@"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")]
    private static partial Regex Times();

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, string? user, string? body = null)
    {
        using var response = await SendRawAsync(method, path, user, body);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, string? user, string? body)
    {
        var request = new HttpRequestMessage(method, path);
        if (user is not null) request.Headers.Authorization = TestRegistry.Basic(user, user + "-pw");
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        return _registry.Client.SendAsync(request);
    }
}
