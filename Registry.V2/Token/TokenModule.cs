using Carter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Configuration;

namespace Registry.V2.Token;

/// <summary>
/// The token endpoint (Docker Registry v2 Token Authentication Specification; 'OAuth2 token authentication'),
/// mapped only when <c>auth.token_server</c> is on; otherwise <c>/v2/token</c> is a v2 path like any other.
/// </summary>
public sealed class TokenModule : ICarterModule
{
    public const string Path = "/v2/token";

    public void AddRoutes(IEndpointRouteBuilder app)
    {
        if (!app.ServiceProvider.GetRequiredService<AuthSettings>().Token.Server) return;
        app.MapGet(Path, async (HttpContext http, TokenServer server, CancellationToken ct) => Answer(http, await server.GetAsync(http, ct)));
        app.MapPost(Path, async (HttpContext http, TokenServer server, CancellationToken ct) => Answer(http, await server.PostAsync(http, ct)));
        app.MapPost(Path + "/revoke", async (HttpContext http, TokenServer server, CancellationToken ct) => Answer(http, await server.RevokeAsync(http, ct)));
    }

    private static IResult Answer(HttpContext http, TokenOutcome outcome)
    {
        // Tokens must not be cached by a proxy (RFC 6749, 'Successful Response').
        http.Response.Headers.CacheControl = "no-store";
        if (outcome.RetryAfter is { } retry)
            http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (outcome.Status == 401) http.Response.Headers.WWWAuthenticate = "Basic realm=\"" + http.RequestServices.GetRequiredService<AuthSettings>().Realm + "\"";
        return outcome.Response is { } response ? Results.Json(response)
            : outcome.Error is { } error ? Results.Json(error, statusCode: outcome.Status)
            : Results.Json(new { }, statusCode: outcome.Status);
    }
}
