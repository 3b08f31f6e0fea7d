using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Registry.Core.Names;

namespace Registry.Core.Http;

/// <summary>
/// Route constraint <c>{**path:v1repo(kind,kind…)}</c>: matches a <c>/v1/repositories/…</c> request whose
/// suffix (docs/client-behaviour.md, 'V1 routing', lazy repository match over the once-decoded raw path) is one of the given kinds.
/// ASP.NET routing cannot express a lazy catch-all followed by a suffix, hence this constraint.
/// </summary>
public sealed class RepositoryRouteConstraint : IRouteConstraint
{
    public const string Name = "v1repo";

    private readonly RepositoryRouteKind[] _kinds;

    public RepositoryRouteConstraint(string kinds) =>
        _kinds = kinds.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(k => Enum.Parse<RepositoryRouteKind>(k, ignoreCase: true))
            .ToArray();

    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection)
    {
        if (httpContext is null) return false;
        var parsed = RepositoryRoutes.Get(httpContext);
        return parsed is not null && _kinds.Contains(parsed.Kind);
    }
}

/// <summary>Parses (once per request) and caches the <see cref="RepositoryRoute"/> of the current request.</summary>
public static class RepositoryRoutes
{
    private static readonly object Key = new();

    public static RepositoryRoute? Get(HttpContext context)
    {
        if (context.Items.TryGetValue(Key, out var cached)) return (RepositoryRoute?)cached;
        var decoded = RepositoryRoute.DecodePath(RawPath(context));
        var parsed = decoded is null
            ? InvalidUtf8(context)
            : RepositoryRoute.Parse(decoded);
        context.Items[Key] = parsed;
        return parsed;
    }

    /// <summary>The request target as the client sent it (still percent-encoded), without scheme or host.</summary>
    public static string RawPath(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw)) return context.Request.PathBase.Add(context.Request.Path).ToUriComponent();
        if (raw[0] != '/' && Uri.TryCreate(raw, UriKind.Absolute, out var absolute)) return absolute.PathAndQuery;
        return raw;
    }

    // A path that is not UTF-8 still names a repository route; the handler answers 400 for its name.
    private static RepositoryRoute? InvalidUtf8(HttpContext context)
    {
        var lossy = Uri.UnescapeDataString(RawPath(context).Split('?')[0]);
        var parsed = RepositoryRoute.Parse(lossy);
        return parsed is null ? null : parsed with { Name = null, Error = "Invalid repository name" };
    }
}
