using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Registry.Core.Storage;

namespace Registry.Core.Maintenance;

/// <summary>
/// A lease object in storage (<c>_gc/lock</c>) so that two processes sharing a storage (two servers on one S3
/// bucket, or a server and the <c>gc</c> verb) do not sweep together (docs/garbage-collection.md, 'Guarantees' G7). The holder renews it
/// between batches; a lease not renewed within the timeout belongs to a dead run and is taken over.
/// The driver interface has no conditional write, so taking it is write-then-read-back after a short pause:
/// a best effort against a simultaneous start, exact against a run already under way.
/// </summary>
public sealed class GcStorageLock
{
    public const string Path = "_gc/lock";

    private readonly IStorageDriver _storage;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private DateTimeOffset _renewedAt;

    private GcStorageLock(IStorageDriver storage, TimeSpan timeout, TimeProvider time)
    {
        _storage = storage;
        _timeout = timeout;
        _time = time;
    }

    /// <summary>The storage's own time of the lease write: the run's T0, on the same clock as the file times it compares.</summary>
    public DateTimeOffset StorageTime { get; private set; }

    /// <summary>Takes the lease, or returns the current holder's description when another live run has it.</summary>
    public static async Task<(GcStorageLock? Lock, string? Holder)> TryAcquireAsync(
        IStorageDriver storage, TimeSpan timeout, TimeSpan settle, TimeProvider time, CancellationToken ct)
    {
        var candidate = new GcStorageLock(storage, timeout, time);
        if (await candidate.ReadAsync(ct) is { } current && current.Owner != candidate._owner && current.ExpiresAt > time.GetUtcNow())
            return (null, current.Describe());
        await candidate.WriteAsync(ct);
        if (settle > TimeSpan.Zero) await Task.Delay(settle, time, ct);
        var after = await candidate.ReadAsync(ct);
        if (after?.Owner != candidate._owner) return (null, after?.Describe() ?? "a run that started at the same moment");
        candidate.StorageTime = await storage.LastModifiedAsync(Path, ct) ?? time.GetUtcNow();
        return (candidate, null);
    }

    /// <summary>Extends the lease when a third of it has passed (called between batches).</summary>
    public async Task RenewAsync(CancellationToken ct)
    {
        if (_time.GetUtcNow() - _renewedAt >= _timeout / 3) await WriteAsync(ct);
    }

    /// <summary>Removes the lease if it is still ours.</summary>
    public async Task ReleaseAsync()
    {
        if ((await ReadAsync(CancellationToken.None))?.Owner == _owner)
            await _storage.DeleteAsync(Path, CancellationToken.None);
    }

    private async Task WriteAsync(CancellationToken ct)
    {
        _renewedAt = _time.GetUtcNow();
        var lease = new Lease(_owner, _renewedAt, _renewedAt + _timeout);
        await _storage.PutContentAsync(Path, JsonSerializer.SerializeToUtf8Bytes(lease), ct);
    }

    private async Task<Lease?> ReadAsync(CancellationToken ct)
    {
        var bytes = await _storage.GetContentAsync(Path, ct);
        if (bytes is null) return null;
        try
        {
            return JsonSerializer.Deserialize<Lease>(bytes);
        }
        catch (JsonException)
        {
            // An unreadable lease cannot be renewed by anyone: treat it as expired.
            return null;
        }
    }

    private sealed record Lease(
        [property: JsonPropertyName("owner")] string Owner,
        [property: JsonPropertyName("renewed_at")] DateTimeOffset RenewedAt,
        [property: JsonPropertyName("expires_at")] DateTimeOffset ExpiresAt)
    {
        public string Describe() => $"{Owner} (lease renewed {RenewedAt.ToString("O", CultureInfo.InvariantCulture)})";
    }
}
