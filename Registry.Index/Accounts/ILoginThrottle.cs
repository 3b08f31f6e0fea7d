using System.Net;

namespace Registry.Index.Accounts;

/// <summary>
/// Failed logins per client address in a window; past the limit, the address gets 429 until the window has passed.
/// <see cref="LoginThrottle"/> counts in this process (one instance); the PostgreSQL index database counts for every
/// instance that shares it, so that a client cannot spread its guesses over the instances of a load balancer.
/// </summary>
public interface ILoginThrottle
{
    /// <summary>How long the address must wait before it may try again; null when it may try now.</summary>
    ValueTask<TimeSpan?> BlockedForAsync(IPAddress? address, CancellationToken ct);

    /// <summary>Counts one failed login of the address.</summary>
    ValueTask RecordFailureAsync(IPAddress? address, CancellationToken ct);
}
