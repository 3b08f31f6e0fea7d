using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Registry.Core.Configuration;

namespace Registry.V1.Hosting;

/// <summary>
/// CORS as the <c>cors:</c> section configures it (Fetch Standard, 'CORS protocol'; option meanings as in the
/// Flask-CORS documentation, which the original registry used). It runs before every route, so a preflight
/// (<c>OPTIONS</c> with <c>Origin</c> and <c>Access-Control-Request-Method</c>) is answered 200 here and never
/// reaches authentication: browsers send preflights without credentials. ASP.NET Core's CORS middleware answers
/// preflights 204 and has no <c>resources</c>, <c>send_wildcard</c> or <c>always_send</c>, hence this one.
/// </summary>
public sealed class CorsMiddleware(RequestDelegate next, RegistrySettings settings)
{
    private readonly CorsSettings _cors = settings.Cors;

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!_cors.AppliesTo(request.Path.Value ?? "/")) return next(context);
        var origin = request.Headers.Origin.ToString();
        var allowedOrigin = AllowedOrigin(origin);
        var requestedMethod = request.Headers.AccessControlRequestMethod.ToString();
        var preflight = HttpMethods.IsOptions(request.Method) && origin.Length > 0 && requestedMethod.Length > 0;
        if (preflight && _cors.AutomaticOptions) return AnswerPreflight(context, allowedOrigin, requestedMethod);

        if (allowedOrigin is not null)
        {
            // Set at the last moment: error handling may clear the headers of a response it replaces.
            context.Response.OnStarting(() =>
            {
                AddOriginHeaders(context.Response, allowedOrigin);
                if (_cors.ExposeHeaders.Count > 0)
                    context.Response.Headers[HeaderNames.AccessControlExposeHeaders] = string.Join(", ", _cors.ExposeHeaders);
                return Task.CompletedTask;
            });
        }
        return next(context);
    }

    private Task AnswerPreflight(HttpContext context, string? allowedOrigin, string requestedMethod)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentLength = 0;
        // An origin or method that is not allowed gets an answer without CORS headers: the browser stops there.
        if (allowedOrigin is null || !_cors.Methods.Contains(requestedMethod.Trim().ToUpperInvariant())) return Task.CompletedTask;
        AddOriginHeaders(response, allowedOrigin);
        response.Headers[HeaderNames.AccessControlAllowMethods] = string.Join(", ", _cors.Methods);
        var headers = AllowedHeaders(context.Request.Headers.AccessControlRequestHeaders);
        if (headers.Count > 0) response.Headers[HeaderNames.AccessControlAllowHeaders] = string.Join(", ", headers);
        if (_cors.MaxAgeSeconds is { } maxAge)
            response.Headers[HeaderNames.AccessControlMaxAge] = maxAge.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Task.CompletedTask;
    }

    private void AddOriginHeaders(HttpResponse response, string allowedOrigin)
    {
        response.Headers[HeaderNames.AccessControlAllowOrigin] = allowedOrigin;
        if (_cors.SupportsCredentials) response.Headers[HeaderNames.AccessControlAllowCredentials] = "true";
        // The answer depends on the request's Origin whenever it is not "*": caches must keep one per origin.
        if (_cors.VaryHeader && allowedOrigin != "*") response.Headers.Append(HeaderNames.Vary, HeaderNames.Origin);
    }

    /// <summary>
    /// The <c>Access-Control-Allow-Origin</c> value, or null for none. A listed origin is echoed; with <c>*</c> the
    /// origin is echoed too unless <c>send_wildcard</c> is on (never with credentials, which browsers refuse with
    /// <c>*</c>); a request without <c>Origin</c> gets <c>*</c> when <c>always_send</c> is on and any origin is allowed.
    /// </summary>
    private string? AllowedOrigin(string origin)
    {
        if (origin.Length == 0) return _cors.AlwaysSend && _cors.AnyOrigin && !_cors.SupportsCredentials ? "*" : null;
        if (_cors.AnyOrigin) return _cors.SendWildcard && !_cors.SupportsCredentials ? "*" : origin;
        return _cors.Origins.Any(o => o.Matches(origin)) ? origin : null;
    }

    // The requested headers that are allowed, in the order asked (all of them when any header is allowed).
    private List<string> AllowedHeaders(StringValues requested)
    {
        var names = requested.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return names.Where(name => _cors.Headers is null || _cors.Headers.Any(h => h.Matches(name))).ToList();
    }
}
