using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Names;

namespace Registry.Tests.Names;

public class RepositoryRouteTests
{
    private static RepositoryRoute Parse(string path)
    {
        var route = RepositoryRoute.Parse(path);
        route.Should().NotBeNull($"'{path}' is a repository route");
        return route!;
    }

    // Every row of docs/client-behaviour.md, 'V1 routing', for an implicit-library name and a two-component name.
    [TestCase("foo/tags/latest/json", RepositoryRouteKind.TagJson, "library", "foo", "latest")]
    [TestCase("a/b/tags/latest/json", RepositoryRouteKind.TagJson, "a", "b", "latest")]
    [TestCase("foo/tags/latest", RepositoryRouteKind.Tag, "library", "foo", "latest")]
    [TestCase("a/b/tags/latest", RepositoryRouteKind.Tag, "a", "b", "latest")]
    [TestCase("foo/tags", RepositoryRouteKind.Tags, "library", "foo", null)]
    [TestCase("foo/tags/", RepositoryRouteKind.Tags, "library", "foo", null)]
    [TestCase("a/b/tags", RepositoryRouteKind.Tags, "a", "b", null)]
    [TestCase("foo/images", RepositoryRouteKind.Images, "library", "foo", null)]
    [TestCase("a/b/images", RepositoryRouteKind.Images, "a", "b", null)]
    [TestCase("a/b/images/", RepositoryRouteKind.Images, "a", "b", null)]
    [TestCase("foo/properties", RepositoryRouteKind.Properties, "library", "foo", null)]
    [TestCase("a/b/properties", RepositoryRouteKind.Properties, "a", "b", null)]
    [TestCase("foo/auth", RepositoryRouteKind.Auth, "library", "foo", null)]
    [TestCase("a/b/auth", RepositoryRouteKind.Auth, "a", "b", null)]
    [TestCase("foo/json", RepositoryRouteKind.Json, "library", "foo", null)]
    [TestCase("a/b/json", RepositoryRouteKind.Json, "a", "b", null)]
    [TestCase("foo/", RepositoryRouteKind.RootSlash, "library", "foo", null)]
    [TestCase("a/b/", RepositoryRouteKind.RootSlash, "a", "b", null)]
    [TestCase("foo", RepositoryRouteKind.Root, "library", "foo", null)]
    [TestCase("a/b", RepositoryRouteKind.Root, "a", "b", null)]
    public void Every_suffix_of_the_routing_table(string rest, RepositoryRouteKind kind, string ns, string repo, string? tag) =>
        Parse(RepositoryRoute.Prefix + rest).Should().Be(new RepositoryRoute(kind, new RepositoryName(ns, repo), tag, null));

    // The Hub suffixes need a two-part name: after a one-part name they are part of the name.
    [TestCase("a/b/star", RepositoryRouteKind.Star, "a", "b", null)]
    [TestCase("a/b/star/", RepositoryRouteKind.Star, "a", "b", null)]
    [TestCase("a/b/stargazers", RepositoryRouteKind.Stargazers, "a", "b", null)]
    [TestCase("a/b/comments", RepositoryRouteKind.Comments, "a", "b", null)]
    [TestCase("a/b/comments/12", RepositoryRouteKind.Comment, "a", "b", "12")]
    [TestCase("library/foo/star", RepositoryRouteKind.Star, "library", "foo", null)]
    [TestCase("foo/star", RepositoryRouteKind.Root, "foo", "star", null)]
    [TestCase("foo/comments", RepositoryRouteKind.Root, "foo", "comments", null)]
    [TestCase("foo/star/star", RepositoryRouteKind.Star, "foo", "star", null)]
    [TestCase("a/b/tags/star", RepositoryRouteKind.Tag, "a", "b", "star")]
    public void Hub_suffixes(string rest, RepositoryRouteKind kind, string ns, string repo, string? tag) =>
        Parse(RepositoryRoute.Prefix + rest).Should().Be(new RepositoryRoute(kind, new RepositoryName(ns, repo), tag, null));

    [TestCase("a/b/c/tags/t", RepositoryRouteKind.Tag, "a", "b%2Fc", "t")]
    [TestCase("a/b/c/", RepositoryRouteKind.RootSlash, "a", "b%2Fc", null)]
    [TestCase("a/b/c//", RepositoryRouteKind.RootSlash, "a", "b%2Fc", null)]
    [TestCase("ns/abcde%$_-test/tags/latest", RepositoryRouteKind.Tag, "ns", "abcde%25%24_-test", "latest")]
    public void Nested_and_special_names(string rest, RepositoryRouteKind kind, string ns, string repo, string? tag) =>
        Parse(RepositoryRoute.Prefix + rest).Should().Be(new RepositoryRoute(kind, new RepositoryName(ns, repo), tag, null));

    [Test]
    public void The_repository_is_matched_lazily_so_a_repository_named_json_is_not_addressable() =>
        // docs/client-behaviour.md, 'V1 routing': the repository json of library/foo, not the repository foo/json.
        Parse("/v1/repositories/foo/json").Should()
            .Be(new RepositoryRoute(RepositoryRouteKind.Json, new RepositoryName("library", "foo"), null, null));

    [Test]
    public void Tag_json_wins_over_repository_json() =>
        Parse("/v1/repositories/foo/tags/latest/json").Should()
            .Be(new RepositoryRoute(RepositoryRouteKind.TagJson, new RepositoryName("library", "foo"), "latest", null));

    [Test]
    public void A_tag_named_json_is_a_tag_route() =>
        Parse("/v1/repositories/foo/tags/json").Should()
            .Be(new RepositoryRoute(RepositoryRouteKind.Tag, new RepositoryName("library", "foo"), "json", null));

    [Test]
    public void Images_is_the_index_images_route_and_a_trailing_slash_the_repository_route()
    {
        Parse("/v1/repositories/a/b/images").Kind.Should().Be(RepositoryRouteKind.Images);
        Parse("/v1/repositories/a/b/").Kind.Should().Be(RepositoryRouteKind.RootSlash);
        Parse("/v1/repositories/a/b/images").Name.Should().Be(new RepositoryName("a", "b"));
        Parse("/v1/repositories/a/b/").Name.Should().Be(new RepositoryName("a", "b"));
    }

    [Test]
    public void A_tag_never_contains_a_slash_so_the_repository_grows_instead() =>
        // The shortest repository "a" would need the tag "b/tags/c"; the next candidate "a/tags/b" works.
        Parse("/v1/repositories/a/tags/b/tags/c").Should()
            .Be(new RepositoryRoute(RepositoryRouteKind.Tag, new RepositoryName("a", "tags%2Fb"), "c", null));

    [Test]
    public void A_path_with_a_slash_in_the_tag_position_falls_through_to_the_root_route() =>
        Parse("/v1/repositories/foo/tags/a/b").Should()
            .Be(new RepositoryRoute(RepositoryRouteKind.Root, new RepositoryName("foo", "tags%2Fa%2Fb"), null, null));

    [Test]
    public void A_tag_is_passed_on_unvalidated() =>
        Parse("/v1/repositories/foo/tags/$<x>\n").Tag.Should().Be("$<x>\n");

    [TestCase("/v1/repositories//", RepositoryRouteKind.Root)]
    // "/tags" has no non-empty repository before the suffix, so only the catch-all root route matches.
    [TestCase("/v1/repositories//tags", RepositoryRouteKind.Root)]
    [TestCase("/v1/repositories/fo\u0001o/tags", RepositoryRouteKind.Tags)]
    public void An_invalid_repository_keeps_the_route_and_reports_why(string path, RepositoryRouteKind kind) =>
        Parse(path).Should().Be(new RepositoryRoute(kind, null, null, "Invalid repository name"));

    [Test]
    public void An_overlong_repository_is_reported_as_such() =>
        Parse($"/v1/repositories/ns/{new string('r', 256)}/tags").Should()
            .Be(new RepositoryRoute(RepositoryRouteKind.Tags, null, null, "Repository name too long"));

    [TestCase("/v1/repositories/")]
    [TestCase("/v1/repositories")]
    [TestCase("/v1/images/abc/json")]
    [TestCase("/V1/repositories/foo")]
    [TestCase("")]
    public void Other_paths_are_not_repository_routes(string path) => RepositoryRoute.Parse(path).Should().BeNull();

    [TestCase("/v1/repositories/a%2Fb/tags", "/v1/repositories/a/b/tags")]
    [TestCase("/v1/repositories/a%2fb/tags", "/v1/repositories/a/b/tags")]
    [TestCase("/v1/repositories/a%252Fb/tags", "/v1/repositories/a%2Fb/tags")]
    [TestCase("/v1/repositories/abcde%25%24_-test/tags", "/v1/repositories/abcde%$_-test/tags")]
    [TestCase("/v1/repositories/a+b/tags", "/v1/repositories/a+b/tags")]
    [TestCase("/v1/repositories/%C3%A9/tags", "/v1/repositories/é/tags")]
    [TestCase("/v1/search?q=%FF", "/v1/search")]
    [TestCase("/v1/repositories/foo/tags?x=1", "/v1/repositories/foo/tags")]
    [TestCase("/v1/a%zz%4", "/v1/a%zz%4")]
    [TestCase("/v1/a%", "/v1/a%")]
    [TestCase("/v1/a%41", "/v1/aA")]
    [TestCase("/plain", "/plain")]
    public void DecodePath_decodes_exactly_once_and_drops_the_query(string raw, string expected) =>
        RepositoryRoute.DecodePath(raw).Should().Be(expected);

    [TestCase("/v1/repositories/%FF/tags")]
    [TestCase("/v1/repositories/%C3/tags")]
    [TestCase("/v1/repositories/%ED%A0%80/tags")]
    public void DecodePath_rejects_invalid_utf8(string raw) => RepositoryRoute.DecodePath(raw).Should().BeNull();

    [TestCase("/v1/repositories/😀%20x", "/v1/repositories/😀 x")]
    [TestCase("/v1/repositories/é%2F😀", "/v1/repositories/é/😀")]
    public void DecodePath_keeps_characters_that_arrive_undecoded(string raw, string expected) =>
        RepositoryRoute.DecodePath(raw).Should().Be(expected);

    [Test]
    public void Decoded_paths_feed_the_router()
    {
        var decoded = RepositoryRoute.DecodePath("/v1/repositories/a%2Fb%2Fc/tags/latest/json?x=y");

        RepositoryRoute.Parse(decoded!).Should()
            .Be(new RepositoryRoute(RepositoryRouteKind.TagJson, new RepositoryName("a", "b%2Fc"), "latest", null));
    }
}
