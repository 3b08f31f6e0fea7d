namespace Registry.Core.Http;

/// <summary>
/// Why a mirror's upstream (V1 or v2) gave no usable answer to a miss. <see cref="Temporary"/>: worth retrying soon
/// (unreachable, timed out, 503/429), which the client is told with 503 and <c>Retry-After</c>; otherwise 502 (it
/// answered wrongly or refused our credentials). <see cref="Message"/> names the upstream, never its credentials.
/// Each protocol renders it in its own error body: <see cref="V1Results.UpstreamError"/> for V1, the v2 host's
/// <c>UpstreamErrors</c> for v2.
/// </summary>
public sealed record UpstreamFailure(string Message, bool Temporary, TimeSpan? RetryAfter = null)
{
    /// <summary>503 when <see cref="Temporary"/>, else 502.</summary>
    public int Status => Temporary ? 503 : 502;
}
