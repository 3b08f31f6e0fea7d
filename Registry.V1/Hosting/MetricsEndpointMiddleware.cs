using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Observability;
using Registry.Index.Accounts;

namespace Registry.V1.Hosting;

/// <summary>
/// Serves the Prometheus metrics (<see cref="ObservabilitySettings"/>) and keeps the debug listener to its purpose. With no
/// debug address, the metrics path is served on the main port; with auth on it then needs a valid user's Basic
/// credentials (Prometheus' <c>basic_auth</c>): the labels name no repository or user, but traffic volumes are nobody
/// else's business. With a debug address (the Go registry's <c>http.debug.addr</c>), the metrics are served there without
/// credentials, as distribution does (bind it to 127.0.0.1 or a private network), and that port answers only the
/// metrics and the health routes; the main port then has no metrics path (404).
/// Scrapes are not themselves counted, logged or given request ids.
/// </summary>
public sealed class MetricsEndpointMiddleware(RequestDelegate next, RegistrySettings settings, Authenticator authenticator)
{
    private static readonly string[] DebugListenerRoutes = ["/livez", "/readyz", "/debug/health"];

    private readonly ObservabilitySettings _settings = settings.Observability;

    public async Task InvokeAsync(HttpContext context)
    {
        var hasDebugListener = _settings.DebugAddress is not null;
        var onDebugListener = hasDebugListener && context.Connection.LocalPort == _settings.DebugAddress!.Port;
        var isMetricsPath = _settings.MetricsEnabled && context.Request.Path.Equals(_settings.MetricsPath, StringComparison.Ordinal);
        // Metrics live on the debug listener when there is one, otherwise on the main port.
        if (isMetricsPath && onDebugListener == hasDebugListener)
        {
            await ServeAsync(context, checkCredentials: !onDebugListener && settings.Auth.Enabled);
            return;
        }
        if (onDebugListener && !DebugListenerRoutes.Contains(context.Request.Path.Value, StringComparer.Ordinal))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await context.Response.WriteAsync("404 page not found\n");
            return;
        }
        await next(context);
    }

    private async Task ServeAsync(HttpContext context, bool checkCredentials)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.Headers.Allow = "GET, HEAD";
            await V1Results.Error(StatusCodes.Status405MethodNotAllowed, "Method not allowed").ExecuteAsync(context);
            return;
        }
        if (checkCredentials && await authenticator.AuthenticateAsync(context, context.RequestAborted) is not { Kind: PrincipalKind.User })
        {
            context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{settings.Auth.Realm}\"";
            await V1Results.Error(StatusCodes.Status401Unauthorized, AccessGate.RequiresAuthorization).ExecuteAsync(context);
            return;
        }
        context.Response.ContentType = RegistryMetrics.ContentType;
        context.Response.Headers.CacheControl = "no-store";
        if (HttpMethods.IsHead(context.Request.Method)) return;
        await RegistryMetrics.WriteAsync(context.Response.Body, context.RequestAborted);
    }
}
