using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.V2.Access;
using Registry.V2.Http;

namespace Registry.V2.Routing;

/// <summary>
/// Routes a <c>/v2</c> request (v2 spec §1.1) and applies the checks every route shares, in this order:
/// unknown path 404 UNSUPPORTED; unknown method 405 with <c>Allow</c>; name grammar 400 NAME_INVALID;
/// read-only mode 405; access (401/403/429); then the route's handler.
/// </summary>
public sealed class V2Dispatcher
{
    private readonly Dictionary<V2RouteKind, (IV2RouteHandler Handler, string[] Methods)> _routes = [];
    private readonly V2Access _access;
    private readonly RegistrySettings _settings;

    public V2Dispatcher(IEnumerable<IV2RouteHandler> handlers, V2Access access, RegistrySettings settings)
    {
        foreach (var handler in handlers)
            foreach (var (kind, methods) in handler.Methods)
                _routes.Add(kind, (handler, methods));
        _access = access;
        _settings = settings;
    }

    public async Task<IResult> DispatchAsync(HttpContext context, CancellationToken ct)
    {
        var route = V2Route.Parse(context.Request.Path.Value ?? "");
        if (route is null || !_routes.TryGetValue(route.Kind, out var target))
            return V2Results.Error(new V2ErrorCode("UNSUPPORTED", 404, "endpoint not found"));

        var method = context.Request.Method;
        if (!target.Methods.Contains(method, StringComparer.OrdinalIgnoreCase))
        {
            context.Response.Headers.Allow = string.Join(", ", target.Methods);
            return V2Results.Error(V2ErrorCode.Unsupported);
        }
        if (route.Kind is not (V2RouteKind.Base or V2RouteKind.Catalog) && !DistributionName.IsValid(route.Name))
            return V2Results.Error(V2ErrorCode.NameInvalid, route.Name);
        if (_settings.ReadOnly && !IsRead(method))
            return V2Results.WithMessage(V2ErrorCode.Unsupported, "registry is in read-only mode");

        var denied = route.Kind switch
        {
            V2RouteKind.Base => await _access.CheckAuthenticatedAsync(context, ct),
            V2RouteKind.Catalog => await _access.CheckCatalogAsync(context, ct),
            _ => await _access.CheckRepositoryAsync(context, route.Name, RequiredActions(route.Kind, method), ct),
        };
        return denied ?? await target.Handler.HandleAsync(context, route, ct);
    }

    /// <summary>Spec §4.2; cancelling an upload needs push, not delete (the recommended deviation).</summary>
    private static V2Action[] RequiredActions(V2RouteKind kind, string method) =>
        IsRead(method) ? [V2Action.Pull]
        : HttpMethods.IsDelete(method) && kind != V2RouteKind.Upload ? [V2Action.Delete]
        : [V2Action.Pull, V2Action.Push];

    private static bool IsRead(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
}
