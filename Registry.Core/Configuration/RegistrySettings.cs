namespace Registry.Core.Configuration;

/// <summary>
/// The resolved, validated settings of one flavor (spec §8). Immutable; built once at start-up by
/// <see cref="ConfigLoader"/>. <see cref="Values"/> keeps every resolved key (after <c>_env:</c> and merge
/// keys) for the <c>config</c> verb and for settings that only one driver reads.
/// </summary>
public sealed record RegistrySettings
{
    /// <summary>The file the settings came from (absolute path).</summary>
    public required string SourceFile { get; init; }

    /// <summary>The selected flavor; empty when SETTINGS_FLAVOR was set to "" (whole document).</summary>
    public required string Flavor { get; init; }

    /// <summary>Every resolved key of the flavor: string, bool, long, double, list, nested map or null.</summary>
    public required IReadOnlyDictionary<string, object?> Values { get; init; }

    /// <summary>JSON-encoded as the body of <c>GET /</c>; null means the body is <c>true</c>.</summary>
    public string? Issue { get; init; }

    /// <summary>debug, info, warn/warning, error or critical.</summary>
    public string LogLevel { get; init; } = "info";

    public bool Debug { get; init; }

    /// <summary>True only for the YAML boolean true (spec §1.2).</summary>
    public bool Standalone { get; init; } = true;

    public string? IndexEndpoint { get; init; }

    public bool DisableTokenAuth { get; init; }

    public string? PrivilegedKey { get; init; }

    public bool StorageRedirect { get; init; }

    /// <summary>"file" (also for "local"), "inmemory", "s3", ... as the flavor's <c>storage</c> key says.</summary>
    public string Storage { get; init; } = "file";

    /// <summary>The storage root (file driver) or key prefix; <c>./tmp</c> when unset.</summary>
    public string StoragePath { get; init; } = "./tmp";

    /// <summary>Null or empty means search is off (<c>/v1/search</c> answers a JSON 404).</summary>
    public string? SearchBackend { get; init; }

    /// <summary>As written in the config: <c>sqlite:////abs.db</c>, <c>sqlite:///rel.db</c> or a plain path.</summary>
    public string SearchDatabase { get; init; } = "sqlite:////tmp/docker-registry.db";

    /// <summary>Value for <c>X-Docker-Endpoints</c>; null means the request's Host header.</summary>
    public string? RegistryEndpoints { get; init; }

    /// <summary>URI prefix for <c>X-Accel-Redirect</c> layer delivery (file storage only).</summary>
    public string? NginxXAccelRedirect { get; init; }

    /// <summary>Non-empty means mirror mode (ping reports "mirror").</summary>
    public string? MirrorSource { get; init; }

    public bool SearchEnabled =>
        !string.IsNullOrWhiteSpace(SearchBackend) && !string.Equals(SearchBackend, "none", StringComparison.OrdinalIgnoreCase);
}
