using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Registry.Core.Http;

/// <summary>
/// A mirror's upstream that could not answer a miss: 502 (it answered wrongly) or 503 (down for now, with
/// <see cref="RetryAfter"/>). <see cref="Message"/> names the upstream without its credentials.
/// </summary>
public sealed record UpstreamFailure(int Status, string Message, TimeSpan? RetryAfter = null)
{
    /// <summary>The V1 error body with the status, and <c>Retry-After</c> when the failure is temporary.</summary>
    public IResult ToResult() => new FailureResult(this);

    private sealed class FailureResult(UpstreamFailure failure) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            if (failure.RetryAfter is { } retry)
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return V1Results.Error(failure.Status, failure.Message).ExecuteAsync(context);
        }
    }
}
