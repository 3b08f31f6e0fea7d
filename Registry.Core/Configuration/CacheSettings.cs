using System.Globalization;

namespace Registry.Core.Configuration;

/// <summary>Where one Redis server is: a <c>cache:</c> or <c>cache_lru:</c> section with its host set.</summary>
public sealed record RedisSettings(string Host, int Port, int Database, string? Password)
{
    public const int DefaultPort = 6379;

    /// <summary>"redis host:port db N", as start-up and the warnings name it (never the password).</summary>
    public string Describe() => $"redis {Host}:{Port.ToString(CultureInfo.InvariantCulture)} db {Database.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// The <c>cache:</c> and <c>cache_lru:</c> sections (docs/configuration.md, 'Redis'), as the Python registry named
/// them: <see cref="Redis"/> is the Redis server other features share; <see cref="Lru"/> is the one small storage
/// files are cached in. Each is null when its section has no host.
/// </summary>
public sealed record CacheSettings
{
    /// <summary>Default of <see cref="LruTtl"/>: also the longest a partitioned instance can leave another one stale.</summary>
    public const long DefaultLruTtlSeconds = 600;

    /// <summary>The <c>cache:</c> section.</summary>
    public RedisSettings? Redis { get; init; }

    /// <summary>The <c>cache_lru:</c> section.</summary>
    public RedisSettings? Lru { get; init; }

    /// <summary><c>cache_lru.ttl_seconds</c>: how long a cached file stays in Redis without being written again.</summary>
    public TimeSpan LruTtl { get; init; } = TimeSpan.FromSeconds(DefaultLruTtlSeconds);

    /// <summary>What start-up says about the cache: "off", or the server(s) and whether files are cached.</summary>
    public string Describe()
    {
        if (Lru is { } lru)
        {
            var files = $"small files in {lru.Describe()} (ttl {LruTtl.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s)";
            return Redis is { } redis && redis != lru ? $"{redis.Describe()}, {files}" : files;
        }

        return Redis is { } shared ? $"{shared.Describe()} (small files not cached: cache_lru.host is unset)" : "off";
    }

    internal static CacheSettings Read(SettingsReader read) => new()
    {
        Redis = ReadRedis(read, "cache"),
        Lru = ReadRedis(read, "cache_lru"),
        LruTtl = TimeSpan.FromSeconds(Number(read, "cache_lru.ttl_seconds", DefaultLruTtlSeconds, 1, int.MaxValue / 1000)),
    };

    private static RedisSettings? ReadRedis(SettingsReader read, string section)
    {
        var host = Text(read, $"{section}.host");
        if (string.IsNullOrWhiteSpace(host)) return null;
        return new RedisSettings(
            host.Trim(),
            (int)Number(read, $"{section}.port", RedisSettings.DefaultPort, 1, 65535),
            (int)Number(read, $"{section}.db", 0, 0, int.MaxValue),
            Text(read, $"{section}.password") is { Length: > 0 } password ? password : null);
    }

    // An unset variable gives "" (port: _env:CACHE_REDIS_PORT), and the original read these as strings: a
    // number in quotes is a number here too.
    private static long Number(SettingsReader read, string key, long fallback, long min, long max)
    {
        var value = read.Get(key);
        long? number = value switch
        {
            null => fallback,
            string s when s.Trim().Length == 0 => fallback,
            long l => l,
            string s when long.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => null,
        };
        if (number is { } n && n >= min && n <= max) return n;
        throw read.Fail(key, $"expected an integer from {min} to {max}, got {ConfigErrorContext.DescribeValue(value)}");
    }

    private static string? Text(SettingsReader read, string key) => read.Get(key) switch
    {
        null => null,
        string s => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        var other => throw read.Fail(key, $"expected a string, got {ConfigErrorContext.DescribeValue(other)}"),
    };
}
