using System.Collections.Concurrent;
using System.Net;
using Registry.Core.Configuration;

namespace Registry.Index.Accounts;

/// <summary>
/// Failed logins per client address in a sliding window, in this process (the <see cref="ILoginThrottle"/> of one
/// instance); past the limit, the address gets 429 until the window has passed. Memory is bounded: entries expire
/// with their window.
/// </summary>
public sealed class LoginThrottle(AuthSettings settings, TimeProvider? time = null) : ILoginThrottle
{
    private const int MaxTrackedAddresses = 100_000;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<IPAddress, Window> _failures = new();

    public ValueTask<TimeSpan?> BlockedForAsync(IPAddress? address, CancellationToken ct) => ValueTask.FromResult(BlockedFor(address));

    public ValueTask RecordFailureAsync(IPAddress? address, CancellationToken ct)
    {
        RecordFailure(address);
        return ValueTask.CompletedTask;
    }

    private TimeSpan? BlockedFor(IPAddress? address)
    {
        if (!_failures.TryGetValue(address ?? IPAddress.None, out var window)) return null;
        lock (window)
        {
            var now = _time.GetUtcNow();
            if (now - window.Start > settings.FailedLoginWindow) return null;
            if (window.Count < settings.MaxFailedLogins) return null;
            return settings.FailedLoginWindow - (now - window.Start);
        }
    }

    private void RecordFailure(IPAddress? address)
    {
        if (_failures.Count > MaxTrackedAddresses) Prune();
        // Clients without an IP address (a unix socket, the test server) share one bucket.
        var window = _failures.GetOrAdd(address ?? IPAddress.None, _ => new Window { Start = _time.GetUtcNow() });
        lock (window)
        {
            var now = _time.GetUtcNow();
            if (now - window.Start > settings.FailedLoginWindow) (window.Start, window.Count) = (now, 0);
            window.Count++;
        }
    }

    private void Prune()
    {
        var now = _time.GetUtcNow();
        foreach (var (address, window) in _failures)
            if (now - window.Start > settings.FailedLoginWindow) _failures.TryRemove(address, out _);
    }

    private sealed class Window
    {
        public DateTimeOffset Start;
        public int Count;
    }
}
