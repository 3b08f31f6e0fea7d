using System.Collections;
using Carter;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Registry.Core;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Notifications;
using Registry.Core.Storage;
using Registry.Index;
using Registry.Index.Database;
using Registry.Index.Modules;
using Registry.V1.ErrorMail;
using Registry.V1.Health;
using Registry.V1.Modules;
using Registry.V1.Web;
using Registry.V2;
using Registry.V2.Modules;
using Registry.V2.Routing;

namespace Registry.V1.Hosting;

/// <summary>Builds the registry host: settings, the services of every project, Kestrel, middleware and the Carter modules.</summary>
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

    /// <summary>
    /// The services the host and the CLI verbs share: Core, Index, V1 and v2. Opens storage and the index database
    /// now, so that each failure stops start-up with one line naming its setting.
    /// </summary>
    public static async Task AddRegistryAsync(IServiceCollection services, RegistrySettings settings, CancellationToken ct)
    {
        services.AddRegistryCore(settings);
        await services.AddRegistryIndexAsync(settings, ct);
        services.AddRegistryV1();
        services.AddRegistryV2();
        services.AddRegistryWeb();
    }

    public static async Task<WebApplication> BuildAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.WebHost.UseKestrelHttpsConfiguration();
        var settings = LoadSettings(ReadEnvironment(builder.Configuration));
        if (settings.Unimplemented.FirstOrDefault(u => u.Refuses) is { } refused) throw new ConfigException(refused.Message);
        var certificate = TlsCertificate.Load(settings);
        await AddRegistryAsync(builder.Services, settings, CancellationToken.None);

        var urls = ConfigureListening(builder, settings.Listen, settings.Observability.DebugAddress, https: certificate is not null);
        ConfigureLogging(builder.Logging, settings.LogLevel, settings.Observability);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxResponseBufferSize = ObjectBody.ResponseBufferBytes;
            if (certificate is not null) k.ConfigureHttpsDefaults(o => o.ServerCertificate = certificate);
            k.Limits.MaxRequestHeadersTotalSize = settings.MaxHeaderBytes;
            k.Limits.MinRequestBodyDataRate = settings.BodyMinRateBytesPerSecond > 0
                ? new MinDataRate(settings.BodyMinRateBytesPerSecond, TimeSpan.FromSeconds(settings.BodyMinRateGraceSeconds))
                : null;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(settings.ShutdownTimeoutSeconds));
        builder.Services.Configure<RouteOptions>(o => o.SetParameterPolicy<RepositoryRouteConstraint>(RepositoryRouteConstraint.Name));
        builder.Services.AddSingleton<Registry.Core.Observability.AuditLog>();
        // The modules are listed, and Carter is told that there are no validators or response negotiators: otherwise it
        // loads the types of every assembly that references it, and with them the packages of features not configured.
        builder.Services.AddCarter(new DependencyContextAssemblyCatalog([typeof(RegistryApp).Assembly]), c => c
            .WithEmptyValidators()
            .WithEmptyResponseNegotiators()
            .WithModule<PingModule>()
            .WithModule<ImagesModule>()
            .WithModule<RepositoriesModule>()
            .WithModule<UsersModule>()
            .WithModule<WebhooksModule>()
            .WithModule<HubModule>()
            .WithModule<AccessTokensModule>()
            .WithModule<IndexRepositoriesModule>()
            .WithModule<SearchModule>()
            .WithModule<V2Module>()
            .WithModule<Registry.V2.Token.TokenModule>()
            .WithModule<GcModule>()
            .WithModule<HealthModule>()
            .WithModule<UiModule>()
            .WithModule<UiAdminModule>()
            .WithModule<UiAccountModule>());
        builder.Services.AddRegistryHealthChecks(settings);
        builder.Services.AddHostedService<StartupTasks>();
        builder.Services.AddHostedService<NotificationDelivery>();
        builder.Services.AddHostedService<Registry.Core.Storage.Caching.BlobCacheFills>();
        builder.Services.AddErrorMail(settings.ErrorMail);
        builder.Services.AddHostedService<Registry.Core.Notifications.Webhooks.WebhookDelivery>();

        var app = builder.Build();
        LogStartup(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RegistryApp).FullName!), settings, urls);
        // Opened now, so that a directory it cannot use stops start-up instead of failing the first pull.
        app.Services.GetRequiredService<Registry.Core.Storage.Caching.LocalBlobCache>();

        app.UseMiddleware<MetricsEndpointMiddleware>();
        // Before RequestMetricsMiddleware wraps the body: it reads Kestrel's own body pipe.
        if (settings.BodyIdleTimeoutSeconds > 0) app.UseMiddleware<BodyIdleTimeoutMiddleware>();
        app.UseMiddleware<RequestMetricsMiddleware>();
        app.UseMiddleware<RequestLogMiddleware>();
        app.UseMiddleware<AuditMiddleware>();
        if (settings.Cors.Enabled) app.UseMiddleware<CorsMiddleware>();
        app.UseV2Headers();
        app.UseStatusCodePages(context => HostErrors.WriteStatusPageAsync(context.HttpContext));
        app.UseMiddleware<ErrorHandlingMiddleware>();
        app.UseMiddleware<UploadLimitMiddleware>();
        app.MapCarter();
        return app;
    }

    /// <summary>
    /// Starts the server and waits for shutdown. An address that cannot be bound, or a store that does not answer the
    /// start-up tasks, stops start-up with one line naming the setting.
    /// </summary>
    public static async Task RunAsync(WebApplication app)
    {
        var settings = app.Services.GetRequiredService<RegistrySettings>();
        try
        {
            await app.StartAsync();
        }
        catch (IOException e) when (ErrorHandlingMiddleware.IsThrownByKestrel(e))
        {
            throw new ConfigException(
                $"start-up error in flavor \"{settings.Flavor}\": the listen address (from --urls, ASPNETCORE_URLS or " +
                $"${ListenAddress.HostVariable}/${ListenAddress.PortVariable}) cannot be used: {e.Message}");
        }
        catch (StorageUnavailableException e)
        {
            throw settings.Error("storage", $"the storage at {CoreServices.DescribeStorage(settings)} does not answer: {e.Message}");
        }
        await app.WaitForShutdownAsync();
        await app.DisposeAsync();
    }

    /// <summary>Warns about each configured key this server does not implement, then says in one line what it serves.</summary>
    private static void LogStartup(ILogger logger, RegistrySettings settings, string urls)
    {
        foreach (var warning in settings.Unimplemented) logger.LogWarning("{Warning}", warning.Message);
        if (settings.BlobCache.Warning is { } cacheWarning) logger.LogWarning("{Warning}", cacheWarning);
        if (settings.Proxy.Enabled) logger.LogInformation("v2 pull-through cache: {Upstreams}", settings.Proxy.Describe());
        if (settings.Observability is { MetricsEnabled: true } o)
            logger.LogInformation("Metrics: {Path} on {Where}", o.MetricsPath, o.DebugAddress is { } d ? $"the debug listener {d.Host}:{d.Port}" : "the main port");
        logger.LogInformation(
            "Starting flavor \"{Flavor}\": storage {Storage} {Location}, index database {Database}, search {Search}, auth {Auth}, cache {Cache}, listen {Urls}",
            settings.Flavor, settings.Storage, CoreServices.DescribeStorage(settings), IndexDatabase.Describe(settings),
            settings.SearchEnabled ? "on" : "off", settings.Auth.Backend, settings.Cache.Describe(), urls);
        if (settings.Cors.Enabled) logger.LogInformation("CORS: {Cors}", settings.Cors.Describe());
        if (settings.Notifications.Endpoints.Count > 0) logger.LogInformation("Notifications: {Endpoints}", settings.Notifications.Describe());
    }

    /// <summary>
    /// <c>--urls</c> and <c>ASPNETCORE_URLS</c> win; otherwise <see cref="RegistrySettings.Listen"/>. Returns the
    /// addresses for the start-up line.
    /// </summary>
    private static string ConfigureListening(WebApplicationBuilder builder, ListenAddress listen, ListenAddress? debug, bool https)
    {
        var urls = builder.Configuration["urls"] is { Length: > 0 } given ? given : $"{(https ? "https" : "http")}://{listen.Host}:{listen.Port}";
        // The debug listener is one more Kestrel address; MetricsEndpointMiddleware keeps it to metrics and health.
        if (debug is not null) urls += $";http://{debug.Host}:{debug.Port}";
        builder.WebHost.UseUrls(urls);
        return urls;
    }

    private static void ConfigureLogging(ILoggingBuilder logging, string level, ObservabilitySettings observability)
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
        // A failed start is reported by RunAsync in one line; the host's own report of it is a stack trace.
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        logging.AddFilter("Registry", min);
        // An audit trail that a quieter log level switches off is no trail: it is written at every level.
        logging.AddFilter(Registry.Core.Observability.AuditLog.Category, LogLevel.Information);
        // Its request scope carries Kestrel's connection-based id, not ours; only JSON logs show scopes.
        if (observability.JsonLogs) logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        Registry.Core.Observability.LogFormat.AddConsole(logging, observability);
    }
}
