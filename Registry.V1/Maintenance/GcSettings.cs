using System.Globalization;
using Registry.Core.Configuration;

namespace Registry.V1.Maintenance;

/// <summary>
/// The <c>gc:</c> section of the configuration: how old something must be before garbage collection may
/// delete it (v2 spec §5.5 G1, §5.6), and the lease of the run's lock object in storage.
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

    /// <summary>Deletes per exclusive section: writers wait at most for one batch.</summary>
    public int BatchSize { get; init; } = 64;

    public static GcSettings From(RegistrySettings settings)
    {
        var gc = settings.Values.GetValueOrDefault("gc") as IReadOnlyDictionary<string, object?>;
        string Key(string key) => $"config error in {settings.SourceFile}, flavor \"{settings.Flavor}\", key \"gc.{key}\"";
        long Seconds(string key, string variable, long fallback, long min) => gc?.GetValueOrDefault(key) switch
        {
            null => fallback,
            long l when l >= min => l,
            var other => throw new ConfigException(
                $"{Key(key)} (from ${variable}): expected an integer number of seconds >= {min}, got \"{Convert.ToString(other, CultureInfo.InvariantCulture)}\""),
        };

        return new GcSettings
        {
            Grace = TimeSpan.FromSeconds(Seconds("grace_seconds", "REGISTRY_GC_GRACE_SECONDS", DefaultGraceSeconds, 0)),
            UploadMaxAge = TimeSpan.FromSeconds(Seconds("upload_max_age_seconds", "REGISTRY_GC_UPLOAD_MAX_AGE_SECONDS", DefaultUploadMaxAgeSeconds, 0)),
            LockTimeout = TimeSpan.FromSeconds(Seconds("lock_timeout_seconds", "REGISTRY_GC_LOCK_TIMEOUT_SECONDS", DefaultLockTimeoutSeconds, 1)),
        };
    }
}
