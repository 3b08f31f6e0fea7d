using System.Globalization;
using Microsoft.AspNetCore.Http;
using Registry.Core.Http;
using Registry.V2.Http;

namespace Registry.V2.Proxy;

/// <summary>
/// The answer to a miss the upstream could not fill (docs/configuration.md, 'Mirror'): 503 <c>UNAVAILABLE</c> with
/// <c>Retry-After</c> when it looks temporary (unreachable, timed out, 503, 429), otherwise 502 <c>UNAVAILABLE</c>
/// (a refusal of our credentials, a 5xx, a manifest that does not verify). The message names the upstream's URL.
/// </summary>
public static class UpstreamErrors
{
    /// <summary>Seconds a client is asked to wait when the upstream did not say.</summary>
    public const int DefaultRetryAfterSeconds = 10;

    public static readonly V2ErrorCode BadGateway = new("UNAVAILABLE", StatusCodes.Status502BadGateway, "upstream registry failed");

    public static IResult Result(UpstreamFailure failure) => new FailureResult(failure);

    public static Task WriteAsync(HttpResponse response, UpstreamFailure failure)
    {
        var code = failure.Temporary ? V2ErrorCode.Unavailable : BadGateway;
        if (failure.Temporary)
        {
            var seconds = failure.RetryAfter is { } after ? Math.Clamp((int)Math.Ceiling(after.TotalSeconds), 1, 3600) : DefaultRetryAfterSeconds;
            response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }
        return V2Results.WriteErrorAsync(response, [new V2Error(code, failure.Message)]);
    }

    private sealed class FailureResult(UpstreamFailure failure) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => failure.Temporary ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status502BadGateway;

        public Task ExecuteAsync(HttpContext httpContext) => WriteAsync(httpContext.Response, failure);
    }
}
