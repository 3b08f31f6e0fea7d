using Registry.Core.Http;
using Registry.V2.Http;
using Registry.V2.Routing;

namespace Registry.V1.Hosting;

/// <summary>
/// Errors the host produces outside a handler (status pages, unexpected exceptions, the upload cap) in the shape of
/// the API the path belongs to: the OCI distribution-spec error envelope under <c>/v2</c>, the V1 <c>{"error": ...}</c>
/// body elsewhere.
/// </summary>
public static class HostErrors
{
    /// <summary>
    /// Writes <paramref name="status"/> with <paramref name="message"/>; under <c>/v2</c> the code is the one
    /// <see cref="V2ErrorCode.ForStatus"/> picks and <paramref name="v2Message"/> (null: the code's own message).
    /// </summary>
    public static async Task WriteAsync(HttpContext context, int status, string message, string? v2Message)
    {
        if (V2Route.IsV2Path(context.Request.Path.Value))
            await V2Results.WriteErrorAsync(context.Response, [new V2Error(V2ErrorCode.ForStatus(status), v2Message)]);
        else
            await V1Results.Error(status, message).ExecuteAsync(context);
    }

    /// <summary>The body of a status-code page (no endpoint matched, method not allowed, ...).</summary>
    public static Task WriteStatusPageAsync(HttpContext context)
    {
        var status = context.Response.StatusCode;
        var message = status switch
        {
            404 => "Not found",
            405 => "Method not allowed",
            _ => "Request failed",
        };
        return WriteAsync(context, status, message, v2Message: null);
    }
}
