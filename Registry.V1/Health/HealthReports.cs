using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Registry.V1.Health;

/// <summary>
/// The latest health report, at most <see cref="MaxAge"/> old: probes from every load balancer and every caller share
/// one run of the checks, so hammering <c>/readyz</c> cannot turn into a storage write per request.
/// </summary>
public sealed class HealthReports(HealthCheckService checks)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private Task<HealthReport>? _current;
    private long _startedAt;

    public Task<HealthReport> LatestAsync()
    {
        lock (_lock)
        {
            var now = Environment.TickCount64;
            if (_current is null || (_current.IsCompleted && now - _startedAt > MaxAge.TotalMilliseconds))
            {
                _startedAt = now;
                // Not the caller's token: a caller that goes away must not cancel the run others wait for.
                _current = checks.CheckHealthAsync(CancellationToken.None);
            }
            return _current;
        }
    }
}
