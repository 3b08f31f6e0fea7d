using System.Collections;
using System.Diagnostics;
using Registry.Core.Observability;

namespace Registry.V1.Hosting;

/// <summary>
/// The outermost layer of every request: gives it its <see cref="RequestId"/> (echoed in <c>X-Request-Id</c>, in a log
/// scope around everything logged for it), counts its body bytes in and out and records it in
/// <see cref="RegistryMetrics"/> by route template, method and final status.
/// </summary>
public sealed class RequestMetricsMiddleware(RequestDelegate next, ILogger<RequestMetricsMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var id = RequestId.Assign(context);
        // On starting rather than now: the error middleware clears the headers of a response it replaces.
        context.Response.OnStarting(() =>
        {
            context.Response.Headers[RequestId.Header] = id;
            return Task.CompletedTask;
        });
        var started = Stopwatch.GetTimestamp();
        var bytesIn = CountingBody.CountRequest(context);
        // Kestrel sends no body for HEAD, whatever a handler writes.
        var bytesOut = HttpMethods.IsHead(context.Request.Method) ? null : CountingBody.CountResponse(context);
        using var scope = logger.BeginScope(new RequestScope(id));
        try
        {
            await next(context);
        }
        finally
        {
            var route = RouteTemplates.Of(context);
            var method = context.Request.Method;
            RegistryMetrics.HttpRequests.WithLabels(route, method, context.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
            RegistryMetrics.HttpRequestDuration.WithLabels(route, method).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            RegistryMetrics.HttpRequestBytes.WithLabels(route, method).Inc(bytesIn.Bytes);
            RegistryMetrics.HttpResponseBytes.WithLabels(route, method).Inc(bytesOut?.Bytes ?? 0);
        }
    }

    /// <summary>The log scope: a <c>RequestId</c> field in JSON logs (text logs leave scopes out).</summary>
    private sealed class RequestScope(string id) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public KeyValuePair<string, object?> this[int index] =>
            index == 0 ? new("RequestId", id) : throw new ArgumentOutOfRangeException(nameof(index));

        public int Count => 1;
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() { yield return this[0]; }
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => "RequestId:" + id;
    }
}
