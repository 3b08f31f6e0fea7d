using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;

namespace Registry.Core.Http;

/// <summary>
/// The auth gate of spec §3.2 as an endpoint filter: standalone or <c>disable_token_auth</c> registries pass
/// every request; an index-backed registry requires a token (validated by the index role).
/// </summary>
public sealed class AccessGate(RegistrySettings settings) : IEndpointFilter
{
    public const string RequiresAuthorization = "Requires authorization";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (settings.Standalone || settings.DisableTokenAuth) return await next(context);
        context.HttpContext.Response.Headers.WWWAuthenticate = "Token";
        return V1Results.Error(401, RequiresAuthorization);
    }
}
