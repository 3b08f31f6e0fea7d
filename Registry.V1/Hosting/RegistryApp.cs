using System.Collections;
using Carter;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Registry.Core.Concurrency;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Modules;
using Registry.Index.Repositories;
using Registry.Index.Search;
using Registry.V1.Images;
using Registry.V1.Maintenance;
using Registry.V1.Modules;
using Registry.V1.Repositories;
using Registry.V2;
using Registry.V2.Http;
using Registry.V2.Modules;
using Registry.V2.Routing;

namespace Registry.V1.Hosting;

/// <summary>Builds the registry host: settings, storage, search, Kestrel, middleware and the Carter modules.</summary>
public static class RegistryApp
{
    /// <summary>Configuration section whose children override environment variables (used by the test host).</summary>
    public const string EnvironmentOverrides = "registry:env";

    public static IReadOnlyDictionary<string, string?> ReadEnvironment(IConfiguration? overrides = null)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables()) env[(string)e.Key] = (string?)e.Value;
        if (overrides is not null)
            foreach (var child in overrides.GetSection(EnvironmentOverrides).GetChildren()) env[child.Key] = child.Value ?? "";
        return env;
    }

    public static RegistrySettings LoadSettings(IReadOnlyDictionary<string, string?> env) =>
        ConfigLoader.Load(env, Path.Combine(AppContext.BaseDirectory, "config_sample.yml"), Directory.GetCurrentDirectory());

    public static IStorageDriver CreateStorage(RegistrySettings settings) => settings.Storage switch
    {
        "file" => new FileSystemStorageDriver(Path.GetFullPath(settings.StoragePath, Directory.GetCurrentDirectory())),
        "inmemory" => new InMemoryStorageDriver(),
        // gcs: Google Cloud Storage through its S3 interoperability endpoint.
        "s3" or "gcs" => new S3StorageDriver(S3StorageOptions.FromSettings(settings), StorageLogger.Value),
        _ => throw new ConfigException(
            $"config error in {settings.SourceFile}, flavor \"{settings.Flavor}\", key \"storage\": the storage backend " +
            $"\"{settings.Storage}\" is not supported by this server; supported: local (file), inmemory, " +
            "s3 (AWS and S3-compatible stores such as Ceph RGW: flavors s3, prod, ceph-s3), gcs (S3 interoperability)"),
    };

    // The storage driver exists before the host's logging does; this logger writes the same single-line format.
    private static readonly Lazy<ILogger> StorageLogger = new(() =>
        LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        })).CreateLogger<S3StorageDriver>());

    public static async Task<ISearchIndex> OpenSearchAsync(RegistrySettings settings, CancellationToken ct)
    {
        if (!settings.SearchEnabled) return new NullSearchIndex();
        var index = await SqliteSearchIndex.OpenAsync(SearchDatabaseLocation.Parse(settings.SearchDatabase, Directory.GetCurrentDirectory()), ct);
        index.CacheResults = settings.Values.GetValueOrDefault("search_result_cache") switch
        {
            null or true => true,
            false => false,
            var other => throw new ConfigException(
                $"config error in {settings.SourceFile}, flavor \"{settings.Flavor}\", key \"search_result_cache\" (from $SEARCH_RESULT_CACHE): expected a boolean (true/false), got \"{other}\""),
        };
        return index;
    }

    public static async Task<WebApplication> BuildAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var env = ReadEnvironment(builder.Configuration);
        var settings = LoadSettings(env);
        var storage = CreateStorage(settings);
        var search = await OpenSearchAsync(settings, CancellationToken.None);
        var auth = AuthSettings.From(settings);
        var indexDatabase = IndexDatabasePath(settings);
        var accounts = await AccountStore.OpenAsync(indexDatabase, CancellationToken.None);
        var membership = await RepositoryImages.OpenAsync(indexDatabase, CancellationToken.None);
        var privates = await PrivateSearchIndex.OpenAsync(indexDatabase, CancellationToken.None);
        var certificate = TlsCertificate.Load(settings);

        ConfigureListening(builder, env, https: certificate is not null);
        ConfigureLogging(builder.Logging, settings.LogLevel);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            if (certificate is not null) k.ConfigureHttpsDefaults(o => o.ServerCertificate = certificate);
            k.Limits.MaxRequestHeadersTotalSize = settings.MaxHeaderBytes;
            k.Limits.MinRequestBodyDataRate = settings.BodyMinRateBytesPerSecond > 0
                ? new MinDataRate(settings.BodyMinRateBytesPerSecond, TimeSpan.FromSeconds(settings.BodyMinRateGraceSeconds))
                : null;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(settings.ShutdownTimeoutSeconds));
        builder.Services.Configure<RouteOptions>(o => o.SetParameterPolicy<RepositoryRouteConstraint>(RepositoryRouteConstraint.Name));

        var services = builder.Services;
        services.AddSingleton(settings);
        services.AddSingleton(storage);
        services.AddSingleton<ISearchIndex>(_ => search); // the container disposes it (its open read connections) at shutdown
        services.AddSingleton<KeyedLock>();
        services.AddSingleton<GcCoordinator>();
        services.AddSingleton(GcSettings.From(settings));
        services.AddSingleton<GarbageCollector>();
        services.AddSingleton<RepositoryCatalog>();
        services.AddSingleton<ImageService>();
        services.AddSingleton<LayerFilesService>();
        services.AddSingleton<RepositoryService>();
        services.AddSingleton<IndexImagesService>();
        services.AddSingleton<TokenService>();
        services.AddSingleton(auth);
        services.AddSingleton(accounts);
        services.AddSingleton(membership);
        services.AddSingleton(privates);
        services.AddSingleton(new HtpasswdFile(auth.HtpasswdPath ?? Path.Combine(AppContext.BaseDirectory, "no-htpasswd-file")));
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<Authenticator>();
        services.AddSingleton<AccessPolicy>();
        services.AddSingleton<IAccessPolicy>(sp => sp.GetRequiredService<AccessPolicy>());
        services.AddSingleton<SearchService>();
        services.AddSingleton<UserService>();
        services.AddCarter(configurator: c => c
            .WithModule<PingModule>()
            .WithModule<ImagesModule>()
            .WithModule<RepositoriesModule>()
            .WithModule<UsersModule>()
            .WithModule<IndexRepositoriesModule>()
            .WithModule<SearchModule>()
            .WithModule<V2Module>()
            .WithModule<GcModule>());
        services.AddRegistryV2();

        services.AddHostedService<StartupTasks>();

        var app = builder.Build();

        app.UseMiddleware<RequestLogMiddleware>();
        app.UseV2Headers();
        app.UseStatusCodePages(async context =>
        {
            var response = context.HttpContext.Response;
            if (V2Route.IsV2Path(context.HttpContext.Request.Path.Value))
            {
                await V2Results.WriteErrorAsync(response, [new V2Error(V2ErrorCode.ForStatus(response.StatusCode))]);
                return;
            }
            var message = response.StatusCode switch
            {
                404 => "Not found",
                405 => "Method not allowed",
                _ => "Request failed",
            };
            await V1Results.Error(response.StatusCode, message).ExecuteAsync(context.HttpContext);
        });
        app.UseMiddleware<ErrorHandlingMiddleware>();
        app.UseMiddleware<UploadLimitMiddleware>();
        app.MapCarter();
        return app;
    }

    /// <summary>
    /// <c>--urls</c> and <c>ASPNETCORE_URLS</c> win; otherwise <c>REGISTRY_HOST</c> (default 0.0.0.0) and
    /// <c>REGISTRY_PORT</c> (default 5000), as the original's launcher read them.
    /// </summary>
    /// <summary>
    /// The index database (accounts, image membership): the search database's file, so that one
    /// <c>sqlalchemy_index_database</c> setting names everything the index keeps.
    /// </summary>
    public static string IndexDatabasePath(RegistrySettings settings) =>
        SearchDatabaseLocation.Parse(settings.SearchDatabase, Directory.GetCurrentDirectory());

    private static void ConfigureListening(WebApplicationBuilder builder, IReadOnlyDictionary<string, string?> env, bool https)
    {
        if (!string.IsNullOrEmpty(builder.Configuration["urls"])) return;
        var host = env.GetValueOrDefault("REGISTRY_HOST") is { Length: > 0 } h ? h : "0.0.0.0";
        var portText = env.GetValueOrDefault("REGISTRY_PORT") is { Length: > 0 } p ? p : "5000";
        if (!int.TryParse(portText, out var port) || port is < 1 or > 65535)
            throw new ConfigException($"environment variable REGISTRY_PORT=\"{portText}\" is not a port number (1-65535)");
        builder.WebHost.UseUrls($"{(https ? "https" : "http")}://{host}:{port}");
    }

    private static void ConfigureLogging(ILoggingBuilder logging, string level)
    {
        var min = level.ToLowerInvariant() switch
        {
            "debug" => LogLevel.Debug,
            "info" => LogLevel.Information,
            "warn" or "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "critical" => LogLevel.Critical,
            _ => LogLevel.Information,
        };
        logging.SetMinimumLevel(min);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", min <= LogLevel.Information ? LogLevel.Information : min);
        logging.AddFilter("Registry", min);
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
    }
}
