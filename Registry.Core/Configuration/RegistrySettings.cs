namespace Registry.Core.Configuration;

/// <summary>
/// The resolved, validated settings of one flavor (docs/configuration.md). Immutable; built once at start-up by
/// <see cref="ConfigLoader"/>, which also reads each section into its typed record (<see cref="Auth"/>,
/// <see cref="S3"/>, <see cref="Gc"/>, <see cref="Cache"/>, <see cref="Tls"/>, <see cref="Listen"/>). <see cref="Values"/> keeps every
/// resolved key (after <c>_env:</c> and merge keys) for the <c>config</c> verb only.
/// </summary>
public sealed record RegistrySettings
{
    /// <summary>Search database when <c>sqlalchemy_index_database</c> is unset.</summary>
    public const string DefaultSearchDatabase = "sqlite:////tmp/docker-registry.db";

    /// <summary>Default of <see cref="MirrorTagsCacheTtlSeconds"/> (two days).</summary>
    public const long DefaultMirrorTagsCacheTtlSeconds = 172800;

    /// <summary>Default of <see cref="MaxJsonBodyBytes"/> (10 MiB).</summary>
    public const long DefaultMaxJsonBodyBytes = 10485760;

    /// <summary>Default of <see cref="MaxHeaderBytes"/> (64 KiB).</summary>
    public const int DefaultMaxHeaderBytes = 65536;

    /// <summary>Default of <see cref="BodyMinRateBytesPerSecond"/> (Kestrel's own default).</summary>
    public const long DefaultBodyMinRateBytesPerSecond = 240;

    /// <summary>Default of <see cref="BodyMinRateGraceSeconds"/>.</summary>
    public const int DefaultBodyMinRateGraceSeconds = 30;

    /// <summary>Default of <see cref="BodyIdleTimeoutSeconds"/> (nginx's <c>client_body_timeout</c>).</summary>
    public const int DefaultBodyIdleTimeoutSeconds = 60;

    /// <summary>Default of <see cref="ShutdownTimeoutSeconds"/>.</summary>
    public const int DefaultShutdownTimeoutSeconds = 30;

    /// <summary>The file the settings came from (absolute path).</summary>
    public required string SourceFile { get; init; }

    /// <summary>The selected flavor; empty when SETTINGS_FLAVOR was set to "" (whole document).</summary>
    public required string Flavor { get; init; }

    /// <summary>
    /// Every resolved key of the flavor, for the <c>config</c> verb: string, bool, long, double, null, a list
    /// (<c>IReadOnlyList&lt;object?&gt;</c>) or a nested map (<c>IReadOnlyDictionary&lt;string, object?&gt;</c>).
    /// </summary>
    public required IReadOnlyDictionary<string, object?> Values { get; init; }

    /// <summary>JSON-encoded as the body of <c>GET /</c>; null means the body is <c>true</c>.</summary>
    public string? Issue { get; init; }

    /// <summary>debug, info, warn/warning, error or critical.</summary>
    public string LogLevel { get; init; } = "info";

    public bool Debug { get; init; }

    /// <summary>
    /// True only for the YAML boolean true (docs/configuration.md, 'Modes'): the loader reads a missing or null <c>standalone</c> as
    /// false (index-backed), like the original; other values are configuration errors.
    /// </summary>
    public bool Standalone { get; init; } = true;

    public string? IndexEndpoint { get; init; }

    public bool DisableTokenAuth { get; init; }

    public bool StorageRedirect { get; init; }

    /// <summary>"file" (also for "local"), "inmemory", "s3", ... as the flavor's <c>storage</c> key says.</summary>
    public string Storage { get; init; } = "file";

    /// <summary>The storage root (file driver) or key prefix; <c>./tmp</c> when unset.</summary>
    public string StoragePath { get; init; } = "./tmp";

    /// <summary>Null or empty means search is off (<c>/v1/search</c> answers a JSON 404).</summary>
    public string? SearchBackend { get; init; }

    /// <summary>As written in the config: <c>sqlite:////abs.db</c>, <c>sqlite:///rel.db</c> or a plain path.</summary>
    public string SearchDatabase { get; init; } = DefaultSearchDatabase;

    /// <summary>URI prefix for <c>X-Accel-Redirect</c> layer delivery (file storage only).</summary>
    public string? NginxXAccelRedirect { get; init; }

    /// <summary>
    /// <c>mirroring.source</c>: the upstream V1 registry (docs/configuration.md, 'V1 mirroring'); set means mirror mode
    /// (ping reports "mirror"). May carry <c>user:password@</c>; show it through <see cref="MirrorUrl.Display"/> only.
    /// </summary>
    public string? MirrorSource { get; init; }

    /// <summary><c>mirroring.source_index</c>: upstream index for index routes; null means <see cref="MirrorSource"/>.</summary>
    public string? MirrorSourceIndex { get; init; }

    /// <summary><c>mirroring.username</c> / <c>mirroring.password</c>: Basic to both upstreams; null when the URLs carry them or none.</summary>
    public MirrorCredentials? MirrorCredentials { get; init; }

    /// <summary><c>mirroring.tags_cache_ttl</c>: seconds a cached upstream tag answer stays valid.</summary>
    public long MirrorTagsCacheTtlSeconds { get; init; } = DefaultMirrorTagsCacheTtlSeconds;

    /// <summary><c>max_json_body_bytes</c>: largest JSON request body (image json, index lists, users).</summary>
    public long MaxJsonBodyBytes { get; init; } = DefaultMaxJsonBodyBytes;

    /// <summary><c>max_header_bytes</c>: Kestrel's limit on the total size of request headers.</summary>
    public int MaxHeaderBytes { get; init; } = DefaultMaxHeaderBytes;

    /// <summary><c>body_min_rate_bytes_per_second</c>: slowest request body Kestrel tolerates; 0 turns the check off.</summary>
    public long BodyMinRateBytesPerSecond { get; init; } = DefaultBodyMinRateBytesPerSecond;

    /// <summary><c>body_min_rate_grace_seconds</c>: how long a body may be slower than the minimum rate (at least 2).</summary>
    public int BodyMinRateGraceSeconds { get; init; } = DefaultBodyMinRateGraceSeconds;

    /// <summary>
    /// <c>body_idle_timeout_seconds</c>: longest wait for the next byte of a request body before the request is answered
    /// 408; 0 turns the check off.
    /// </summary>
    public int BodyIdleTimeoutSeconds { get; init; } = DefaultBodyIdleTimeoutSeconds;

    /// <summary><c>shutdown_timeout_seconds</c>: how long shutdown waits for requests in flight.</summary>
    public int ShutdownTimeoutSeconds { get; init; } = DefaultShutdownTimeoutSeconds;

    /// <summary>How many layer uploads run at once, per client and in all, and how long the excess waits.</summary>
    public UploadLimitSettings Uploads { get; init; } = new();

    /// <summary>The local disk cache of an object store's blobs (<c>blob_cache_path</c>, <c>blob_cache_size_mb</c>).</summary>
    public BlobCacheSettings BlobCache { get; init; } = new();

    /// <summary><c>storage_delete_enabled</c>: v2 manifest, tag and blob DELETE are allowed (otherwise 405 UNSUPPORTED).</summary>
    public bool StorageDeleteEnabled { get; init; }

    /// <summary><c>storage_readonly</c>: maintenance mode; v2 writes answer 405 UNSUPPORTED.</summary>
    public bool ReadOnly { get; init; }

    /// <summary><c>catalog_max_entries</c>: the largest <c>n</c> that <c>GET /v2/_catalog</c> accepts.</summary>
    public int CatalogMaxEntries { get; init; } = DefaultCatalogMaxEntries;

    /// <summary>Default of <see cref="CatalogMaxEntries"/> (distribution's <c>catalog.maxentries</c>).</summary>
    public const int DefaultCatalogMaxEntries = 1000;

    /// <summary>
    /// <c>catalog_from_index</c>: <c>GET /v2/_catalog</c> pages come from the index database (kept by the registry's writes
    /// and by following storage) rather than a walk of storage; null: on for storage other than files (where a walk
    /// lists the bucket, a request per directory), off on files (a local walk is cheap and sees a change at once).
    /// </summary>
    public bool? CatalogFromIndex { get; init; }

    /// <summary><c>search_result_cache</c>: repeated searches are answered from a page cache.</summary>
    public bool SearchResultCache { get; init; } = true;

    /// <summary>
    /// <c>search_watch_interval</c> (seconds, 0 off): on file storage, how often the namespace directories are looked at
    /// so that search follows repositories removed or copied in behind the registry's back.
    /// </summary>
    public long SearchWatchSeconds { get; init; } = DefaultSearchWatchSeconds;

    public const long DefaultSearchWatchSeconds = 2;

    /// <summary>
    /// <c>search_reconcile_interval</c> (seconds, 0 off): how often the whole storage is compared with the search index;
    /// null: <see cref="DefaultSearchReconcileSeconds"/> on storage other than files, off on files (the watch covers them).
    /// </summary>
    public long? SearchReconcileSeconds { get; init; }

    public const long DefaultSearchReconcileSeconds = 600;

    /// <summary>The <c>auth:</c> section and <c>secret_key</c>.</summary>
    public AuthSettings Auth { get; init; } = new();

    /// <summary>The split of index and registry: <c>role</c>, <c>registry_endpoints</c>, <c>index_token_cache_ttl</c>, <c>privileged_key</c>.</summary>
    public RoleSettings Roles { get; init; } = new();

    /// <summary>The <c>gc:</c> section.</summary>
    public GcSettings Gc { get; init; } = new();

    /// <summary>The <c>cache:</c> and <c>cache_lru:</c> sections (Redis).</summary>
    public CacheSettings Cache { get; init; } = new();

    /// <summary>The <c>proxy:</c> section: the v2 pull-through cache's upstreams (off when none).</summary>
    public ProxySettings Proxy { get; init; } = new();

    /// <summary>The <c>cors:</c> section; off unless <c>cors.origins</c> is set.</summary>
    public CorsSettings Cors { get; init; } = CorsSettings.Off;

    /// <summary>The <c>notifications:</c> section: event endpoints and their durable outbox (off when no endpoint is enabled).</summary>
    public NotificationSettings Notifications { get; init; } = NotificationSettings.Off;

    /// <summary>The <c>email_exceptions:</c> section; null (no error mail) unless <c>smtp_host</c> is set.</summary>
    public ErrorMailSettings? ErrorMail { get; init; }

    /// <summary>The <c>webhooks:</c> section: what repository webhooks may reach.</summary>
    public WebhookSettings Webhooks { get; init; } = new();

    /// <summary>The S3 driver's options for an <c>s3</c> or <c>gcs</c> flavor with a bucket; otherwise null.</summary>
    public Storage.S3StorageOptions? S3 { get; init; }

    /// <summary>The <c>tls:</c> section; null means plain HTTP.</summary>
    public TlsSettings? Tls { get; init; }

    /// <summary><c>REGISTRY_HOST</c> and <c>REGISTRY_PORT</c>.</summary>
    public ListenAddress Listen { get; init; } = new("0.0.0.0", 5000);

    /// <summary>The <c>metrics:</c>, <c>log_format</c> and Go's <c>http.debug:</c> and <c>log.formatter</c> keys.</summary>
    public ObservabilitySettings Observability { get; init; } = new();

    /// <summary>Keys the flavor sets that this server does not implement; start-up refuses or warns (see <see cref="UnimplementedSetting"/>).</summary>
    public IReadOnlyList<UnimplementedSetting> Unimplemented { get; init; } = [];

    internal ConfigErrorContext? ErrorContext { get; init; }

    internal Func<string, EnvSource?>? SourceOf { get; init; }

    /// <summary>
    /// A start-up failure about <paramref name="key"/> (a storage path that cannot be created, a certificate that
    /// cannot be read, ...) in the loader's one-line format, naming file, flavor, key and the variable behind it.
    /// </summary>
    /// <paramref name="hideValue"/> keeps the value out of the line (a database URL may carry a password).
    public ConfigException Error(string key, string problem, bool hideValue = false)
    {
        var source = SourceOf?.Invoke(key);
        if (hideValue && source is not null) source = source with { Raw = ConfigPrinter.Mask };
        return (ErrorContext ?? new ConfigErrorContext(SourceFile, Flavor)).Fail(key, source, problem);
    }

    public bool SearchEnabled =>
        !string.IsNullOrWhiteSpace(SearchBackend) && !string.Equals(SearchBackend, "none", StringComparison.OrdinalIgnoreCase);
}
