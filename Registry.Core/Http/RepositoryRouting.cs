using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Registry.Core.Names;

namespace Registry.Core.Http;

/// <summary>Maps handlers onto <c>/v1/repositories/{repo}…</c> suffixes (docs/client-behaviour.md, 'V1 routing') through <see cref="RepositoryRouteConstraint"/>.</summary>
public static class RepositoryRouting
{
    /// <summary>
    /// Maps <paramref name="handler"/> for the given methods and suffix kinds. Gated routes run the
    /// <see cref="AccessGate"/> first (Docker Registry HTTP API V1, 'Authorization'); then a repository part that is not a valid name is answered 400
    /// before the handler runs.
    /// </summary>
    public static RouteHandlerBuilder MapRepository(this IEndpointRouteBuilder app, string[] methods, bool gated, Delegate handler, params RepositoryRouteKind[] kinds)
    {
        var pattern = $"{RepositoryRoute.Prefix}{{**path:{RepositoryRouteConstraint.Name}({string.Join(',', kinds)})}}";
        var builder = app.MapMethods(pattern, methods, handler);
        if (gated) builder.AddEndpointFilter<AccessGate>();
        return builder.AddEndpointFilter(async (context, next) =>
        {
            var route = RepositoryRoutes.Get(context.HttpContext);
            if (route?.Name is null) return V1Results.Error(400, route?.Error ?? "Invalid repository name");
            return await next(context);
        });
    }

    /// <summary>The parsed route of the current request; only valid inside a handler mapped by <see cref="MapRepository"/>.</summary>
    public static RepositoryRoute Route(this HttpContext context) =>
        RepositoryRoutes.Get(context) ?? throw new InvalidOperationException("not a repository route");
}
