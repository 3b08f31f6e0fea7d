using Microsoft.AspNetCore.Http;

namespace Registry.V2.Base;

/// <summary><c>GET</c> and <c>HEAD /v2/</c> (Docker Registry HTTP API V2, 'API Version Check'): 200 <c>{}</c> once the dispatcher let the caller through.</summary>
public sealed class BaseHandler
{
    public IResult Get(HttpContext context)
    {
        context.Response.ContentLength = 2;
        return HttpMethods.IsHead(context.Request.Method) ? Results.Empty : Results.Text("{}", "application/json");
    }
}
