using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Registry.Core.Configuration;
using Registry.Core.Storage;

namespace Registry.Core.Concurrency;

/// <summary>
/// docs/garbage-collection.md, 'Guarantees' G8: what a lookup told a pushing client exists stays for half the grace
/// period. docker HEADs each layer of an image, skips those the registry has and PUTs the manifest once the others are
/// uploaded, minutes later behind a big layer; docker 1.x GETs an image's json and skips the image. A collection that
/// starts in between never saw the lookup (G2 counts what happens while it runs) and could sweep an unreferenced old
/// layer, and the push would fail. So a lookup makes the file it found young again (G1): when the file's time is older
/// than a quarter of the grace period, the caller rewrites it with the same bytes under the collector's shared side. The
/// record is the storage's own file time, so it holds across instances and restarts; each path is checked at most once
/// per quarter of the grace period in this process (one <c>stat</c> or HEAD), so a file found at time <c>h</c> is never
/// older than <c>h − grace/2</c>, which any collection starting up to <c>h + grace/2</c> keeps.
/// Off in read-only mode (no writes) and with a grace period of 0 (which keeps nothing by age).
/// </summary>
public sealed class LookupKeepAlive(GcSettings gc, RegistrySettings settings, IStorageDriver storage, ILogger<LookupKeepAlive> log)
{
    // Paths checked within the last quarter of the grace period; past this many, the expired ones go, or all of them
    // (forgetting one costs a second check, never a missed one).
    private const int MaxRemembered = 16_384;

    private readonly ConcurrentDictionary<string, long> _nextCheck = new(StringComparer.Ordinal);

    private TimeSpan Quarter => gc.Grace / 4;

    private bool Enabled => !settings.ReadOnly && gc.Grace > TimeSpan.Zero;

    /// <summary>
    /// After a lookup found <paramref name="path"/>: when it is due for a check and older than a quarter of the grace
    /// period, <paramref name="rewrite"/> writes it again (under the shared side, after checking that what the lookup
    /// found is all still there; false when it is not). False when the path or what it names is gone now, which the
    /// lookup should answer as not found; a store that is down leaves the lookup's answer as it was (logged), and a
    /// coordinator that is down (the cluster's index) fails the lookup as it fails the push's other writes.
    /// </summary>
    public async Task<bool> KeepAsync(string path, Func<CancellationToken, Task<bool>> rewrite, CancellationToken ct)
    {
        if (!Enabled || !Due(path)) return true;
        try
        {
            var modified = await storage.LastModifiedAsync(path, ct);
            if (modified is null) return false;
            return modified >= DateTimeOffset.UtcNow - Quarter || await rewrite(ct);
        }
        catch (StorageUnavailableException e)
        {
            _nextCheck.TryRemove(path, out _);
            log.LogWarning("Could not renew the time of {Path} after a lookup (docs/garbage-collection.md, G8): {Message}", path, e.Message);
            return true;
        }
        catch
        {
            // The coordinator's index down (503) or the client gone: the next lookup checks again.
            _nextCheck.TryRemove(path, out _);
            throw;
        }
    }

    private bool Due(string path)
    {
        var now = Environment.TickCount64;
        if (_nextCheck.TryGetValue(path, out var next) && now < next) return false;
        if (_nextCheck.Count >= MaxRemembered)
        {
            foreach (var (key, at) in _nextCheck)
                if (at <= now) _nextCheck.TryRemove(key, out _);
            if (_nextCheck.Count >= MaxRemembered) _nextCheck.Clear();
        }
        _nextCheck[path] = now + (long)Quarter.TotalMilliseconds;
        return true;
    }
}
