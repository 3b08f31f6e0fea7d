using Registry.Core.Maintenance;
using Registry.Core.Storage;

namespace Registry.Core.Configuration;

/// <summary>
/// The <c>gc:</c> section of the configuration: how old something must be before garbage collection may
/// delete it (docs/garbage-collection.md, 'Guarantees' G1 and 'Upload purging'), and the lease of the run's lock object in storage.
/// </summary>
public sealed record GcSettings
{
    public const long DefaultGraceSeconds = 3600;
    public const long DefaultUploadMaxAgeSeconds = 86400;
    public const long DefaultLockTimeoutSeconds = 600;

    /// <summary>Nothing whose file time is later than the run's start minus this is swept (at least the longest push).</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(DefaultGraceSeconds);

    /// <summary>v2 upload sessions and unfinished V1 images (<c>_inprogress</c>) older than this are abandoned.</summary>
    public TimeSpan UploadMaxAge { get; init; } = TimeSpan.FromSeconds(DefaultUploadMaxAgeSeconds);

    /// <summary>A storage lock of another run older than this is taken over (its process died).</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(DefaultLockTimeoutSeconds);

    /// <summary>
    /// The pause between writing the storage lease and reading it back (a simultaneous start by another process shows
    /// up as a different owner). Not in the YAML: only tests shorten it.
    /// </summary>
    public TimeSpan LeaseSettle { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Deletes per exclusive section on local storage: writers wait at most for one batch.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// The same where each storage request is a round trip (S3): there a batch costs its round trips more than its items
    /// (the re-read's listings and two DeleteObjects per depth of V1 images, each 30–90 ms on RGW), so a batch holds more;
    /// writers still wait for one batch at most.
    /// </summary>
    public int RemoteBatchSize { get; init; } = 256;

    /// <summary><see cref="RemoteBatchSize"/> for a store whose reads are round trips (<see cref="GcRun.ReadsAreRoundTripsOn"/>), else <see cref="BatchSize"/>.</summary>
    public int BatchSizeFor(IStorageDriver storage) => GcRun.ReadsAreRoundTripsOn(storage) ? RemoteBatchSize : BatchSize;

    internal static GcSettings Read(SettingsReader read)
    {
        TimeSpan Seconds(string key, long fallback, long min) => TimeSpan.FromSeconds(read.Get(key) switch
        {
            null => fallback,
            // TimeSpan holds about 29 000 years of seconds.
            long l when l >= min && l <= (long)TimeSpan.MaxValue.TotalSeconds => l,
            var other => throw read.Fail(key, $"expected an integer number of seconds >= {min}, got {ConfigErrorContext.DescribeValue(other)}"),
        });

        return new GcSettings
        {
            Grace = Seconds("gc.grace_seconds", DefaultGraceSeconds, 0),
            UploadMaxAge = Seconds("gc.upload_max_age_seconds", DefaultUploadMaxAgeSeconds, 0),
            LockTimeout = Seconds("gc.lock_timeout_seconds", DefaultLockTimeoutSeconds, 1),
        };
    }
}
