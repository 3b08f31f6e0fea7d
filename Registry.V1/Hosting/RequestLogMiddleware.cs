using System.Diagnostics;

namespace Registry.V1.Hosting;

/// <summary>One log line per request: method, path, status, response bytes, milliseconds, request id.</summary>
public sealed class RequestLogMiddleware(RequestDelegate next, ILogger<RequestLogMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!logger.IsEnabled(LogLevel.Information))
        {
            await next(context);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var response = context.Response;
            logger.LogInformation("{Method} {Path} {Status} {Bytes}b {Elapsed:0.0}ms id={RequestId}",
                context.Request.Method,
                context.Request.Path.Value,
                response.StatusCode,
                response.ContentLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
                Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                context.TraceIdentifier);
        }
    }
}
