using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Registry.Core.Concurrency;
using Registry.Core.Configuration;
using Registry.Core.Redis;
using Registry.Core.Storage;
using Registry.Core.Storage.Caching;

namespace Registry.Core;

/// <summary>Registers what every part of the registry shares: the settings and their sections, the storage driver, the coordinators.</summary>
public static class CoreServices
{
    /// <summary>The storage kinds this server implements, as the error for the others lists them.</summary>
    public const string SupportedStorage = "local (file), inmemory, s3 (AWS and S3-compatible stores such as Ceph RGW: flavors s3, prod, ceph-s3), gcs (S3 interoperability)";

    /// <summary>
    /// Adds the settings, <see cref="AuthSettings"/>, <see cref="GcSettings"/>, the storage driver (created now, so
    /// that a storage path that cannot be created stops start-up with one line; with its small files cached in Redis
    /// when <c>cache_lru</c> is set), the shared Redis connection of <c>cache</c> and the coordinators.
    /// </summary>
    public static IServiceCollection AddRegistryCore(this IServiceCollection services, RegistrySettings settings)
    {
        services.AddSingleton(settings);
        services.AddSingleton(settings.Auth);
        services.AddSingleton(settings.Gc);
        services.AddSingleton(settings.Notifications);
        services.AddSingleton<Notifications.Notifier>();
        services.AddSingleton(settings.Webhooks);
        services.AddSingleton<Notifications.Webhooks.WebhookNetworkGuard>();
        services.AddSingleton<Notifications.Webhooks.WebhookQueue>();
        var storage = CreateStorage(settings);
        // One connection (one multiplexer, one probe, one warning) when both sections name the same server and database.
        var lruIsCache = settings.Cache.Lru is not null && settings.Cache.Lru == settings.Cache.Redis;
        if (settings.Cache.Redis is { } redis)
        {
            var purpose = lruIsCache ? "cache and file cache (cache_lru)" : "cache";
            services.AddSingleton(sp => new RedisConnection(redis, purpose, Logger(sp, typeof(RedisConnection))));
            services.AddSingleton<IRedisConnection>(sp => sp.GetRequiredService<RedisConnection>());
        }
        if (settings.Cache.Lru is { } lru)
        {
            services.AddSingleton<IStorageDriver>(sp =>
            {
                var logger = Logger(sp, typeof(RedisFileCache));
                var connection = lruIsCache ? sp.GetRequiredService<RedisConnection>() : new RedisConnection(lru, "file cache (cache_lru)", logger);
                return new CachingStorageDriver(storage, new RedisFileCache(connection, FileCacheNamespace(settings), settings.Cache.LruTtl, logger));
            });
        }
        else
        {
            services.AddSingleton(storage);
        }
        services.AddSingleton(sp => CreateBlobCache(settings, Logger(sp, typeof(LocalBlobCache))));
        // In-process coordination; the index registers its cluster backend over these when it has one (PostgreSQL).
        services.AddSingleton<IKeyedLock, KeyedLock>();
        services.AddSingleton<IGcCoordinator, GcCoordinator>();
        services.AddSingleton<LookupKeepAlive>();
        return services;
    }

    /// <summary>The local blob cache (<c>blob_cache_path</c>), or a disabled one; a directory it cannot use stops start-up.</summary>
    private static LocalBlobCache CreateBlobCache(RegistrySettings settings, ILogger logger)
    {
        if (settings.BlobCache.Path is not { } path) return LocalBlobCache.Disabled;
        try
        {
            return new LocalBlobCache(Path.GetFullPath(path, Directory.GetCurrentDirectory()), settings.BlobCache.MaxBytes, logger);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw settings.Error("blob_cache_path", $"the blob cache directory cannot be used: {e.Message}");
        }
    }

    /// <summary>The one switch on <c>storage</c>; the kinds the loader accepts but this server lacks stop start-up.</summary>
    public static IStorageDriver CreateStorage(RegistrySettings settings) => settings.Storage switch
    {
        "file" => CreateFileStorage(settings),
        "inmemory" => new InMemoryStorageDriver(),
        // gcs: Google Cloud Storage through its S3 interoperability endpoint.
        "s3" or "gcs" => new S3StorageDriver(settings.S3 ?? throw S3Section.MissingBucket(settings), StorageLogger.Value),
        _ => throw new ConfigErrorContext(settings.SourceFile, settings.Flavor).Fail("storage", null,
            $"the storage backend \"{settings.Storage}\" is not supported by this server; supported: {SupportedStorage}"),
    };

    /// <summary>Where the storage is, as start-up reports it: the directory, the bucket and prefix, or "in memory".</summary>
    public static string DescribeStorage(RegistrySettings settings) => settings.Storage switch
    {
        "file" => Path.GetFullPath(settings.StoragePath, Directory.GetCurrentDirectory()),
        "s3" or "gcs" when settings.S3 is { } s3 => $"bucket {s3.Bucket}" + (s3.Prefix.Length > 0 ? $" prefix {s3.Prefix}" : ""),
        "inmemory" => "in memory",
        _ => settings.StoragePath,
    };

    /// <summary>
    /// The key prefix of the file cache: the same on every instance that shares the storage (kind and location as
    /// start-up names them), different for registries on other storage that share the Redis database.
    /// </summary>
    public static string FileCacheNamespace(RegistrySettings settings) => $"registry:files:{settings.Storage}:{DescribeStorage(settings)}:";

    private static ILogger Logger(IServiceProvider services, Type category) =>
        services.GetService<ILoggerFactory>()?.CreateLogger(category.FullName!) ?? StorageLogger.Value;

    private static FileSystemStorageDriver CreateFileStorage(RegistrySettings settings)
    {
        var root = Path.GetFullPath(settings.StoragePath, Directory.GetCurrentDirectory());
        try
        {
            return new FileSystemStorageDriver(root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw settings.Error("storage_path", $"cannot create the storage directory {root}: {e.Message}");
        }
    }

    /// <summary>The registry's log line: one line per entry, UTC timestamp first.</summary>
    public static void ConsoleFormat(SimpleConsoleFormatterOptions options)
    {
        options.SingleLine = true;
        options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        options.UseUtcTimestamp = true;
    }

    // The storage driver exists before the host's logging does; this logger writes the same single-line format.
    private static readonly Lazy<ILogger> StorageLogger = new(() =>
        LoggerFactory.Create(b => b.AddSimpleConsole(ConsoleFormat)).CreateLogger<S3StorageDriver>());
}
