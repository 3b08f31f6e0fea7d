using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.V2.Access;
using Registry.V2.Http;

namespace Registry.V2.Routing;

/// <summary>
/// Routes a <c>/v2</c> request by <see cref="V2Routes"/> (OCI distribution-spec v1.1, 'Endpoints') and applies the checks every route shares,
/// in this order: unknown path 404 UNSUPPORTED; unknown method 405 with <c>Allow</c>; name grammar 400
/// NAME_INVALID; read-only mode 405; the method's required access (401/403/429); then the method's handler.
/// </summary>
public sealed class V2Dispatcher
{
    private readonly Dictionary<V2RouteKind, BoundRoute> _routes = [];
    private readonly V2Access _access;
    private readonly RegistrySettings _settings;

    public V2Dispatcher(IServiceProvider services, V2Access access, RegistrySettings settings)
    {
        foreach (var definition in V2Routes.All)
        {
            var methods = definition.Endpoints.Select(e => e.Method).ToArray();
            var handlers = definition.Endpoints.ToDictionary(
                e => e.Method, e => (e.Access, Handle: e.Bind(services)), StringComparer.OrdinalIgnoreCase);
            _routes.Add(definition.Kind, new BoundRoute(string.Join(", ", methods), handlers));
        }
        _access = access;
        _settings = settings;
    }

    public async Task<IResult> DispatchAsync(HttpContext context, CancellationToken ct)
    {
        var route = V2Route.Parse(context.Request.Path.Value ?? "");
        if (route is null || !_routes.TryGetValue(route.Kind, out var target))
            return V2Results.Error(new V2ErrorCode("UNSUPPORTED", 404, "endpoint not found"));

        var method = context.Request.Method;
        if (!target.Methods.TryGetValue(method, out var endpoint))
        {
            context.Response.Headers.Allow = target.Allow;
            return V2Results.Error(V2ErrorCode.Unsupported);
        }
        if (endpoint.Access.Scope == V2Scope.Repository && !DistributionName.IsValid(route.Name))
            return V2Results.Error(V2ErrorCode.NameInvalid, route.Name);
        if (_settings.ReadOnly && !IsRead(method))
            return V2Results.WithMessage(V2ErrorCode.Unsupported, "registry is in read-only mode");

        var denied = endpoint.Access.Scope switch
        {
            V2Scope.Authenticated => await _access.CheckAuthenticatedAsync(context, ct),
            V2Scope.Catalog => await _access.CheckCatalogAsync(context, ct),
            _ => await _access.CheckRepositoryAsync(context, route.Name, endpoint.Access.Actions, ct),
        };
        return denied ?? await endpoint.Handle(context, route, ct);
    }

    private static bool IsRead(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method);

    private sealed record BoundRoute(string Allow, Dictionary<string, (V2RequiredAccess Access, V2Handle Handle)> Methods);
}
