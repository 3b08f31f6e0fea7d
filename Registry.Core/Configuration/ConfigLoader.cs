namespace Registry.Core.Configuration;

/// <summary>Loads <see cref="RegistrySettings"/> from the YAML config file (docs/configuration.md).</summary>
public static class ConfigLoader
{
    /// <summary>Environment variable naming the config file.</summary>
    public const string ConfigFileVariable = "DOCKER_REGISTRY_CONFIG";

    /// <summary>Environment variable naming the flavor; set to "" for the whole document.</summary>
    public const string FlavorVariable = "SETTINGS_FLAVOR";

    /// <summary>The flavor used when <see cref="FlavorVariable"/> is unset.</summary>
    public const string DefaultFlavor = "dev";

    /// <summary>Accepted <c>loglevel</c> values.</summary>
    public static readonly IReadOnlyList<string> LogLevels = ["debug", "info", "warn", "warning", "error", "critical"];

    /// <summary>
    /// Accepted <c>storage</c> values (the original's drivers). Accepting one here does not mean the host
    /// implements it; the host refuses the ones it does not.
    /// </summary>
    public static readonly IReadOnlyList<string> StorageKinds = ["local", "file", "inmemory", "s3", "gcs", "swift", "glance", "azureblob", "elliptics", "oss"];

    /// <summary>
    /// Loads the file named by <c>DOCKER_REGISTRY_CONFIG</c> (default: <paramref name="defaultFile"/>; a
    /// relative path is resolved against <paramref name="workingDirectory"/>) and the flavor named by
    /// <c>SETTINGS_FLAVOR</c> (default <c>dev</c>), resolving <c>_env:</c> values against
    /// <paramref name="environment"/>. Throws <see cref="ConfigException"/> on any problem.
    /// </summary>
    public static RegistrySettings Load(IReadOnlyDictionary<string, string?> environment, string defaultFile, string workingDirectory)
    {
        var flavorSet = environment.TryGetValue(FlavorVariable, out var flavorValue) && flavorValue is not null;
        var flavor = flavorSet ? flavorValue! : DefaultFlavor;
        var flavorSource = new EnvSource(FlavorVariable, flavor, flavorSet);

        // An empty DOCKER_REGISTRY_CONFIG can only mean "not chosen"; the original would try to open a directory.
        var fileSet = environment.TryGetValue(ConfigFileVariable, out var fileValue) && !string.IsNullOrEmpty(fileValue);
        var fileSource = new EnvSource(ConfigFileVariable, fileSet ? fileValue! : defaultFile, fileSet);
        var file = Path.GetFullPath(fileSource.Raw, workingDirectory);
        var context = new ConfigErrorContext(file, flavor);

        var root = ReadDocument(file, fileSource, context);
        var builder = new ConfigTreeBuilder(environment, context);
        var section = flavor.Length == 0 ? root : SelectFlavor(root, flavor, flavorSource, builder, context);
        var values = builder.BuildSection(section, "");
        return ToSettings(file, flavor, values, new SettingsReader(values, builder.NearestSource, context), environment, workingDirectory);
    }

    private static MappingNode ReadDocument(string file, EnvSource fileSource, ConfigErrorContext context)
    {
        if (!File.Exists(file))
        {
            throw context.Fail(null, fileSource, "the file is missing");
        }

        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw context.Fail(null, fileSource, $"the file cannot be read: {e.Message}");
        }

        ConfigNode? root;
        try
        {
            root = YamlComposer.ComposeSingleDocument(text);
        }
        catch (YamlSyntaxException e)
        {
            throw context.Fail(null, null, $"invalid YAML at {e.Describe()}");
        }

        return root switch
        {
            MappingNode mapping => mapping,
            null => throw context.Fail(null, null, "the file holds no YAML document"),
            _ => throw context.Fail(null, null, $"the top level must be a mapping of flavors (line {root.Start.Line}, column {root.Start.Column})"),
        };
    }

    private static MappingNode SelectFlavor(MappingNode root, string flavor, EnvSource flavorSource, ConfigTreeBuilder builder, ConfigErrorContext context)
    {
        var flavors = builder.Flatten(root, "");
        if (!flavors.TryGetValue(flavor, out var node))
        {
            throw context.Fail(null, flavorSource,
                $"the flavor is missing from the file; available flavors: {string.Join(", ", flavors.Keys)}");
        }

        return node as MappingNode
            ?? throw context.Fail(flavor, flavorSource, $"a flavor must be a mapping of settings (line {node.Start.Line}, column {node.Start.Column})");
    }

    private static RegistrySettings ToSettings(
        string file, string flavor, IReadOnlyDictionary<string, object?> values, SettingsReader read,
        IReadOnlyDictionary<string, string?> environment, string workingDirectory)
    {
        var choice = read.Choice("storage", StorageKinds);
        var storage = choice is null or "local" ? "file" : choice;
        var storagePath = read.Text("storage_path") ?? "./tmp";
        var standalone = read.Boolean("standalone") ?? false;
        var disableTokenAuth = read.Boolean("disable_token_auth") ?? false;
        var auth = AuthSettings.Read(read, workingDirectory);
        return new RegistrySettings
        {
            ErrorContext = read.Context,
            SourceOf = read.SourceOf,
            SourceFile = file,
            Flavor = flavor,
            Values = values,
            Issue = read.Text("issue"),
            LogLevel = read.Choice("loglevel", LogLevels) ?? "info",
            Debug = read.Boolean("debug") ?? false,

            // Null is not the boolean true: the original's `is True` test then means index-backed (docs/configuration.md, 'Modes').
            Standalone = standalone,
            IndexEndpoint = read.Text("index_endpoint")?.TrimEnd('/'),
            DisableTokenAuth = disableTokenAuth,
            StorageRedirect = read.Boolean("storage_redirect") ?? false,
            Storage = storage,
            StoragePath = storagePath,
            SearchBackend = read.Text("search_backend"),
            SearchDatabase = read.Text("sqlalchemy_index_database") ?? RegistrySettings.DefaultSearchDatabase,
            NginxXAccelRedirect = read.Text("nginx_x_accel_redirect"),
            MirrorSource = MirrorUrl.Read(read, "mirroring.source"),
            MirrorSourceIndex = MirrorUrl.Read(read, "mirroring.source_index"),
            MirrorCredentials = MirrorUrl.ReadCredentials(read),
            MirrorTagsCacheTtlSeconds = read.Integer("mirroring.tags_cache_ttl", RegistrySettings.DefaultMirrorTagsCacheTtlSeconds, 0, long.MaxValue),
            MaxJsonBodyBytes = read.Integer("max_json_body_bytes", RegistrySettings.DefaultMaxJsonBodyBytes, 1, long.MaxValue),

            // Kestrel holds these in an int.
            MaxHeaderBytes = (int)read.Integer("max_header_bytes", RegistrySettings.DefaultMaxHeaderBytes, 1, int.MaxValue),
            BodyMinRateBytesPerSecond = read.Integer("body_min_rate_bytes_per_second", RegistrySettings.DefaultBodyMinRateBytesPerSecond, 0, long.MaxValue),

            // Kestrel refuses a grace period that is not longer than its 1-second heartbeat.
            BodyMinRateGraceSeconds = (int)read.Integer("body_min_rate_grace_seconds", RegistrySettings.DefaultBodyMinRateGraceSeconds, 2, int.MaxValue),
            BodyIdleTimeoutSeconds = (int)read.Integer("body_idle_timeout_seconds", RegistrySettings.DefaultBodyIdleTimeoutSeconds, 0, int.MaxValue),
            ShutdownTimeoutSeconds = (int)read.Integer("shutdown_timeout_seconds", RegistrySettings.DefaultShutdownTimeoutSeconds, 0, int.MaxValue),
            Uploads = UploadLimitSettings.Read(read),
            BlobCache = BlobCacheSettings.Read(read, storage),
            StorageDeleteEnabled = read.Boolean("storage_delete_enabled") ?? false,
            ReadOnly = read.Boolean("storage_readonly") ?? false,
            CatalogMaxEntries = (int)read.Integer("catalog_max_entries", RegistrySettings.DefaultCatalogMaxEntries, 1, int.MaxValue),
            CatalogFromIndex = read.Get("catalog_from_index") is null or "" ? null : read.Boolean("catalog_from_index"),
            SearchResultCache = read.Boolean("search_result_cache") ?? true,
            SearchWatchSeconds = read.Integer("search_watch_interval", RegistrySettings.DefaultSearchWatchSeconds, 0, 86_400),
            SearchReconcileSeconds = read.Get("search_reconcile_interval") is null or "" ? null : read.Integer("search_reconcile_interval", 0, 0, 31_536_000),
            Auth = auth,
            Roles = RoleSettings.Read(read, disableTokenAuth, auth.Enabled),
            Gc = GcSettings.Read(read),
            Cache = CacheSettings.Read(read),
            Proxy = ProxySettings.Read(read),
            Cors = CorsSettings.Read(read),
            Notifications = NotificationSettings.Read(read, storage, storagePath, workingDirectory),
            ErrorMail = ErrorMailSettings.Read(read),
            Webhooks = WebhookSettings.Read(read, storage, storagePath, workingDirectory),
            S3 = S3Section.Read(read, storage, storagePath),
            Tls = TlsSettings.Read(read),
            Listen = ListenAddress.Read(environment, read.Context),
            Observability = ObservabilitySettings.Read(read, ListenAddress.Read(environment, read.Context)),
            Unimplemented = UnimplementedSetting.Find(read),
        };
    }
}
