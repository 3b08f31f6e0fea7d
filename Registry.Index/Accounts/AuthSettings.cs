using System.Globalization;
using Registry.Core.Configuration;

namespace Registry.Index.Accounts;

/// <summary>
/// The <c>auth:</c> section (and <c>secret_key</c>) of the configuration. Authentication is off unless
/// <c>auth.backend</c> is <c>htpasswd</c>; then accounts come from the htpasswd file and from sign-ups
/// stored in the index database.
/// </summary>
public sealed record AuthSettings
{
    public bool Enabled { get; init; }
    public string Realm { get; init; } = "Registry Realm";
    public string? HtpasswdPath { get; init; }
    public IReadOnlySet<string> Admins { get; init; } = new HashSet<string>();
    public bool AnonymousRead { get; init; } = true;
    public bool SignUp { get; init; }
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromHours(1);
    public int MaxFailedLogins { get; init; } = 10;
    public TimeSpan FailedLoginWindow { get; init; } = TimeSpan.FromMinutes(1);
    public string? SecretKey { get; init; }

    public static AuthSettings From(RegistrySettings settings)
    {
        var auth = settings.Values.GetValueOrDefault("auth") as IReadOnlyDictionary<string, object?>;
        string Key(string key) => $"config error in {settings.SourceFile}, flavor \"{settings.Flavor}\", key \"auth.{key}\"";
        object? Get(string key) => auth?.GetValueOrDefault(key);

        var backend = Get("backend")?.ToString();
        var enabled = backend switch
        {
            null or "" or "none" => false,
            "htpasswd" => true,
            _ => throw new ConfigException($"{Key("backend")} (from $REGISTRY_AUTH): \"{backend}\" is not an authentication backend; supported: htpasswd, none"),
        };
        var path = Get("htpasswd_path")?.ToString();
        if (enabled && string.IsNullOrEmpty(path))
            throw new ConfigException($"{Key("htpasswd_path")} (from $REGISTRY_AUTH_HTPASSWD_PATH): required when auth.backend is htpasswd");

        return new AuthSettings
        {
            Enabled = enabled,
            Realm = Get("htpasswd_realm")?.ToString() is { Length: > 0 } realm ? realm : "Registry Realm",
            HtpasswdPath = string.IsNullOrEmpty(path) ? null : Path.GetFullPath(path, Directory.GetCurrentDirectory()),
            Admins = ParseList(Get("admins")),
            AnonymousRead = Bool(Get("anonymous_read"), true, Key("anonymous_read")),
            SignUp = Bool(Get("signup"), false, Key("signup")),
            TokenLifetime = TimeSpan.FromSeconds(Long(Get("token_ttl_seconds"), 3600, Key("token_ttl_seconds"))),
            MaxFailedLogins = (int)Long(Get("max_failed_logins"), 10, Key("max_failed_logins")),
            SecretKey = settings.Values.GetValueOrDefault("secret_key")?.ToString() is { Length: > 0 } secret ? secret : null,
        };
    }

    private static HashSet<string> ParseList(object? value) => value switch
    {
        null => [],
        string s => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal),
        IEnumerable<object?> list => list.Select(x => x?.ToString() ?? "").Where(x => x.Length > 0).ToHashSet(StringComparer.Ordinal),
        _ => [value.ToString()!],
    };

    private static bool Bool(object? value, bool fallback, string key) => value switch
    {
        null => fallback,
        bool b => b,
        _ => throw new ConfigException($"{key}: expected a boolean (true/false), got \"{value}\""),
    };

    private static long Long(object? value, long fallback, string key) => value switch
    {
        null => fallback,
        long l and > 0 => l,
        _ => throw new ConfigException($"{key}: expected a positive integer, got \"{Convert.ToString(value, CultureInfo.InvariantCulture)}\""),
    };
}
