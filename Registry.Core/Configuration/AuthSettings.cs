namespace Registry.Core.Configuration;

/// <summary>
/// The <c>auth:</c> section (and <c>secret_key</c>) of the configuration. Authentication is off unless
/// <c>auth.backend</c> is <c>htpasswd</c> (accounts from the htpasswd file and from sign-ups stored in the index
/// database), <c>ldap</c> (logins checked by a bind to the directory of <see cref="Ldap"/>) or <c>token</c> (Bearer
/// tokens of another token server, <see cref="TokenAuthSettings.External"/>).
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

    /// <summary>The directory of <c>auth.backend: ldap</c>; null for other backends.</summary>
    public LdapSettings? Ldap { get; init; }

    /// <summary>Bearer tokens: this server's token server, or another issuer's tokens.</summary>
    public TokenAuthSettings Token { get; init; } = new();

    /// <summary>True when v2 challenges are Bearer (our token server or an external one).</summary>
    public bool Bearer => Token.Server || Token.External is not null;

    /// <summary>The backend's name as start-up reports it.</summary>
    public string Backend => !Enabled ? "none" : Token.External is not null ? "token" : Ldap is not null ? "ldap" : "htpasswd";

    /// <summary>Reads the section; a relative <c>htpasswd_path</c> is resolved against <paramref name="workingDirectory"/>.</summary>
    internal static AuthSettings Read(SettingsReader read, string workingDirectory)
    {
        var backend = read.Get("auth.backend")?.ToString();
        var enabled = backend switch
        {
            null or "" or "none" => false,
            "htpasswd" or "ldap" or "token" => true,
            _ => throw read.Fail("auth.backend", $"\"{backend}\" is not an authentication backend; supported: htpasswd, ldap, token, none"),
        };
        var path = read.Get("auth.htpasswd_path")?.ToString();
        if (backend == "htpasswd" && string.IsNullOrEmpty(path))
            throw read.Fail("auth.htpasswd_path", "required when auth.backend is htpasswd");

        if (backend == "ldap" && read.Boolean("auth.signup") == true)
            throw read.Fail("auth.signup", "not with auth.backend ldap: accounts live in the directory");

        return new AuthSettings
        {
            Enabled = enabled,
            Realm = read.Get("auth.htpasswd_realm")?.ToString() is { Length: > 0 } realm ? realm : "Registry Realm",
            HtpasswdPath = string.IsNullOrEmpty(path) ? null : Path.GetFullPath(path, workingDirectory),
            Admins = ParseList(read.Get("auth.admins")),
            AnonymousRead = read.Boolean("auth.anonymous_read") ?? true,
            SignUp = read.Boolean("auth.signup") ?? false,
            TokenLifetime = TimeSpan.FromSeconds(Positive(read, "auth.token_ttl_seconds", 3600)),
            MaxFailedLogins = (int)Positive(read, "auth.max_failed_logins", 10),
            SecretKey = read.Get("secret_key")?.ToString() is { Length: > 0 } secret ? secret : null,
            Ldap = backend == "ldap" ? LdapSettings.Read(read, workingDirectory) : null,
            Token = TokenAuthSettings.Read(read, workingDirectory, backend, accounts: backend is "htpasswd" or "ldap"),
        };
    }

    private static HashSet<string> ParseList(object? value) => value switch
    {
        null => [],
        string s => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal),
        IEnumerable<object?> list => list.Select(x => x?.ToString() ?? "").Where(x => x.Length > 0).ToHashSet(StringComparer.Ordinal),
        _ => [value.ToString()!],
    };

    private static long Positive(SettingsReader read, string path, long fallback) => read.Get(path) switch
    {
        null => fallback,
        long l and > 0 and <= int.MaxValue => l,
        var other => throw read.Fail(path, $"expected a positive integer, got {ConfigErrorContext.DescribeValue(other)}"),
    };
}
