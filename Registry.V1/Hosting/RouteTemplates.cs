using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Core.Observability;
using Registry.V2.Routing;

namespace Registry.V1.Hosting;

/// <summary>
/// The route template a request matched, for metric labels and the audit log: never the raw path, so that the label
/// set stays bounded. The two catch-all routes are spelled out: the v2 dispatcher's table (<see cref="V2Routes"/>) and the
/// V1 repository routes (<see cref="RepositoryRouteKind"/>), whose ASP.NET patterns are one constraint each.
/// </summary>
public static class RouteTemplates
{
    private static readonly Dictionary<V2RouteKind, string> V2Paths = V2Routes.All.ToDictionary(r => r.Kind, r => r.Path);

    /// <summary>The template of <paramref name="context"/>'s endpoint; <see cref="RegistryMetrics.UnmatchedRoute"/> when none matched.</summary>
    public static string Of(HttpContext context)
    {
        if (context.GetEndpoint() is not RouteEndpoint { RoutePattern.RawText: { } pattern }) return RegistryMetrics.UnmatchedRoute;
        if (V2Route.IsV2Path(pattern))
            return V2Routes.Match(context.Request.Path.Value ?? "") is { } v2 ? V2Paths[v2.Kind] : RegistryMetrics.UnmatchedRoute;
        if (pattern.StartsWith(RepositoryRoute.Prefix, StringComparison.Ordinal) && RepositoryRoutes.Get(context) is { } v1)
            return RepositoryRoute.Prefix + "{repo}" + v1.Kind switch
            {
                RepositoryRouteKind.TagJson => "/tags/{tag}/json",
                RepositoryRouteKind.Tag => "/tags/{tag}",
                RepositoryRouteKind.Tags => "/tags",
                RepositoryRouteKind.Images => "/images",
                RepositoryRouteKind.Properties => "/properties",
                RepositoryRouteKind.Auth => "/auth",
                RepositoryRouteKind.Json => "/json",
                RepositoryRouteKind.Star => "/star",
                RepositoryRouteKind.Stargazers => "/stargazers",
                RepositoryRouteKind.Comments => "/comments",
                RepositoryRouteKind.Comment => "/comments/{id}",
                RepositoryRouteKind.RootSlash => "/",
                _ => "",
            };
        return pattern;
    }
}
