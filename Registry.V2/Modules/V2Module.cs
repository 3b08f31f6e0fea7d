using Carter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Registry.V2.Routing;

namespace Registry.V2.Modules;

/// <summary>
/// Maps everything under <c>/v2</c> to the dispatcher: the v2 routes cannot be ASP.NET route templates
/// because a name may contain the route words and must be matched from the right (OCI distribution-spec v1.1, 'Endpoints').
/// </summary>
public sealed class V2Module : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.Map(V2Route.Prefix, (HttpContext http, V2Dispatcher dispatcher, CancellationToken ct) => dispatcher.DispatchAsync(http, ct));
        app.Map(V2Route.Prefix + "/{**path}", (HttpContext http, V2Dispatcher dispatcher, CancellationToken ct) => dispatcher.DispatchAsync(http, ct));
    }
}
