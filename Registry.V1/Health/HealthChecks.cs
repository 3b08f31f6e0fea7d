using Microsoft.Extensions.Diagnostics.HealthChecks;
using Registry.Core.Configuration;
using Registry.Core.Redis;
using Registry.Core.Storage;
using Registry.Index.Database;

namespace Registry.V1.Health;

/// <summary>
/// What <c>/readyz</c> and <c>/debug/health</c> check (docs/operating.md, 'Health'), as ASP.NET Core health checks:
/// storage can be written (read when <c>storage_readonly</c>), the index database answers, Redis answers when
/// configured. Redis is only ever a cache here, so Redis down is "degraded", never "unhealthy": taking every
/// instance out of a load balancer because a cache is gone would turn lost speed into an outage.
/// </summary>
public static class HealthChecks
{
    /// <summary>How long one check may take before it counts as failed (a hung storage must not hang the probe).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public const string Storage = "storage";
    public const string IndexDatabase = "index_database";
    public const string Redis = "redis";

    public static IServiceCollection AddRegistryHealthChecks(this IServiceCollection services, RegistrySettings settings)
    {
        var checks = services.AddHealthChecks()
            .AddCheck<StorageHealthCheck>(Storage, HealthStatus.Unhealthy, [], Timeout)
            .AddCheck<IndexDatabaseHealthCheck>(IndexDatabase, HealthStatus.Unhealthy, [], Timeout);
        if (settings.Cache.Redis is not null) checks.AddCheck<RedisHealthCheck>(Redis, HealthStatus.Degraded, [], Timeout);
        services.AddSingleton<HealthReports>();
        return services;
    }
}

/// <summary>
/// Writes, reads back and deletes a probe file of this instance (<c>_health/</c>, which no other part of the
/// registry reads), or only looks for it on read-only storage.
/// </summary>
public sealed class StorageHealthCheck(IStorageDriver storage, RegistrySettings settings) : IHealthCheck
{
    private readonly string _probe = $"_health/{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            if (settings.ReadOnly)
            {
                await storage.ExistsAsync(_probe, ct);
                return HealthCheckResult.Healthy("readable (storage_readonly)");
            }
            var written = System.Text.Encoding.ASCII.GetBytes(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
            await storage.PutContentAsync(_probe, written, ct);
            var read = await storage.GetContentAsync(_probe, ct);
            await storage.DeleteAsync(_probe, ct);
            return read is not null && read.AsSpan().SequenceEqual(written)
                ? HealthCheckResult.Healthy("writable")
                : HealthCheckResult.Unhealthy("a file written to storage did not read back the same");
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy(e.Message.Split('\n')[0]);
        }
    }
}

public sealed class IndexDatabaseHealthCheck(IIndexDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            await database.PingAsync(ct);
            return HealthCheckResult.Healthy("answers");
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // IndexUnavailableException's message names the database (never credentials).
            return HealthCheckResult.Unhealthy(e is IndexUnavailableException ? e.Message : $"{database.Location}: {e.Message.Split('\n')[0]}");
        }
    }
}

public sealed class RedisHealthCheck(IRedisConnection redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (redis.Database is not { } database) return HealthCheckResult.Degraded($"{redis.Describe} does not answer; serving without it");
        try
        {
            await database.PingAsync();
            return HealthCheckResult.Healthy("answers");
        }
        catch (Exception e) when (RedisConnection.IsRedisFailure(e))
        {
            redis.ReportFailure(e);
            return HealthCheckResult.Degraded($"{redis.Describe} does not answer; serving without it");
        }
    }
}
