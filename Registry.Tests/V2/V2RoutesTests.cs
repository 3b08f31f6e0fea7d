using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Registry.Tests.Support;
using Registry.V2.Access;
using Registry.V2.Routing;

namespace Registry.Tests.V2;

/// <summary>The route table itself: one route per kind, shapes that parse to their own kind, access as Token Scope Documentation asks.</summary>
public class V2RoutesTests
{
    [Test]
    public void Each_route_kind_has_exactly_one_route()
    {
        V2Routes.All.Select(r => r.Kind).Should().BeEquivalentTo(Enum.GetValues<V2RouteKind>());
    }

    [TestCase("/v2", V2RouteKind.Base)]
    [TestCase("/v2/_catalog/", V2RouteKind.Catalog)]
    [TestCase("/v2/a/b/tags/list", V2RouteKind.Tags)]
    [TestCase("/v2/a/b/manifests/latest", V2RouteKind.Manifest)]
    [TestCase("/v2/a/b/blobs/uploads/", V2RouteKind.UploadStart)]
    [TestCase("/v2/a/b/blobs/uploads/u-1", V2RouteKind.Upload)]
    [TestCase("/v2/a/b/blobs/sha256:00", V2RouteKind.Blob)]
    [TestCase("/v2/a/b/referrers/sha256:00", V2RouteKind.Referrers)]
    public void A_path_of_each_shape_finds_its_route(string path, V2RouteKind kind)
    {
        V2Routes.Match(path)!.Kind.Should().Be(kind);
    }

    [TestCase("/v2//")]
    [TestCase("/v2/_catalogs")]
    [TestCase("/v2/tags/list")]
    [TestCase("/v2/a/manifests/")]
    [TestCase("/v2/a/manifests")]
    [TestCase("/v2/a/unknown/x")]
    [TestCase("/v2x/")]
    public void A_path_of_no_shape_finds_nothing(string path)
    {
        V2Routes.Match(path).Should().BeNull();
    }

    [Test]
    public void Reads_need_pull_deletes_need_delete_and_other_writes_need_pull_and_push()
    {
        foreach (var route in V2Routes.All.Where(r => r.Kind is not (V2RouteKind.Base or V2RouteKind.Catalog)))
            foreach (var endpoint in route.Endpoints)
            {
                V2Action[] expected = endpoint.Method is "GET" or "HEAD" ? [V2Action.Pull]
                    : endpoint.Method == "DELETE" && route.Kind != V2RouteKind.Upload ? [V2Action.Delete]
                    : [V2Action.Pull, V2Action.Push];
                endpoint.Access.Scope.Should().Be(V2Scope.Repository, $"{endpoint.Method} {route.Path}");
                endpoint.Access.Actions.Should().Equal(expected, $"{endpoint.Method} {route.Path}");
            }
    }

    [Test]
    public async Task Every_handler_the_table_names_is_registered_by_AddRegistryV2()
    {
        await using var registry = TestRegistry.Start();
        foreach (var handler in V2Routes.HandlerTypes)
            registry.Services.GetService(handler).Should().NotBeNull(handler.Name);
    }
}
