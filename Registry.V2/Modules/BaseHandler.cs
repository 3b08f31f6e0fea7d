using Microsoft.AspNetCore.Http;
using Registry.V2.Routing;

namespace Registry.V2.Modules;

/// <summary><c>GET /v2/</c> (v2 spec §1.3): 200 <c>{}</c> once the dispatcher let the caller through.</summary>
public sealed class BaseHandler : IV2RouteHandler
{
    public IReadOnlyDictionary<V2RouteKind, string[]> Methods { get; } = new Dictionary<V2RouteKind, string[]>
    {
        [V2RouteKind.Base] = ["GET", "HEAD"],
    };

    public Task<IResult> HandleAsync(HttpContext context, V2Route route, CancellationToken ct)
    {
        context.Response.ContentLength = 2;
        return Task.FromResult(HttpMethods.IsHead(context.Request.Method)
            ? Results.Empty
            : Results.Text("{}", "application/json"));
    }
}
