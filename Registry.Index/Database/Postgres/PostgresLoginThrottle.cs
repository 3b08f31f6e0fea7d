using System.Net;
using Dapper;
using Registry.Core.Configuration;
using Registry.Index.Accounts;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// Failed logins per client address in the index database, so every instance that shares it counts the same
/// failures (<see cref="ILoginThrottle"/>). One row per address: a window start and a count, advanced by one UPSERT;
/// the server's clock decides the windows, so instances with drifting clocks agree. Rows of windows that have passed
/// are deleted as failures come in, which keeps the table as small as the in-process throttle's memory.
/// </summary>
internal sealed class PostgresLoginThrottle(PostgresIndexDatabase database, AuthSettings settings) : ILoginThrottle
{
    public async ValueTask<TimeSpan?> BlockedForAsync(IPAddress? address, CancellationToken ct)
    {
        var remaining = await database.RunAsync(c => c.QuerySingleOrDefaultAsync<double?>(new CommandDefinition("""
            SELECT extract(epoch FROM window_start + @window - now())::float8 FROM registry_login_failures
            WHERE address = @address AND failures >= @max AND window_start >= now() - @window
            """, new { address = Key(address), window = settings.FailedLoginWindow, max = settings.MaxFailedLogins }, cancellationToken: ct)), ct);
        return remaining is { } seconds ? TimeSpan.FromSeconds(Math.Max(0, seconds)) : null;
    }

    public async ValueTask RecordFailureAsync(IPAddress? address, CancellationToken ct) =>
        await database.RunAsync(c => c.ExecuteAsync(new CommandDefinition("""
            DELETE FROM registry_login_failures WHERE window_start < now() - @window AND address <> @address;
            INSERT INTO registry_login_failures AS f (address, window_start, failures) VALUES (@address, now(), 1)
            ON CONFLICT (address) DO UPDATE SET
                window_start = CASE WHEN f.window_start < now() - @window THEN now() ELSE f.window_start END,
                failures = CASE WHEN f.window_start < now() - @window THEN 1 ELSE f.failures + 1 END
            """, new { address = Key(address), window = settings.FailedLoginWindow }, cancellationToken: ct)), ct);

    // Clients without an IP address (a unix socket, the test server) share one bucket, as in the in-process throttle.
    private static string Key(IPAddress? address) => (address ?? IPAddress.None).ToString();
}
