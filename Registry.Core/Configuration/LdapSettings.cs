namespace Registry.Core.Configuration;

/// <summary>
/// <c>auth.ldap</c>, the directory of <c>auth.backend: ldap</c> (docs/configuration.md, 'LDAP'): a login is a bind
/// with the user's DN, made from <see cref="BindDn"/> (a template) or found with <see cref="SearchFilter"/> under
/// <see cref="SearchBase"/> (bound as <see cref="SearchBindDn"/>). Members of <see cref="AdminGroup"/> are admins.
/// </summary>
public sealed record LdapSettings
{
    /// <summary>What the templates replace with the (escaped) user name.</summary>
    public const string UsernamePlaceholder = "{username}";

    public required Uri Url { get; init; }

    /// <summary>True for <c>ldaps://</c>: TLS from the first byte.</summary>
    public bool Ldaps => Url.Scheme == "ldaps";

    /// <summary><c>starttls</c>: upgrade an <c>ldap://</c> connection before binding.</summary>
    public bool StartTls { get; init; }

    /// <summary><c>ca_file</c>: PEM certificates the server's must chain to (instead of the system's); null for the system's.</summary>
    public string? CaFile { get; init; }

    public string? BindDn { get; init; }
    public string? SearchBase { get; init; }
    public string SearchFilter { get; init; } = "(uid={username})";
    public string? SearchBindDn { get; init; }
    public string? SearchBindPassword { get; init; }
    public string? AdminGroup { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    internal static LdapSettings Read(SettingsReader read, string workingDirectory)
    {
        var section = read.Get("auth.ldap") switch
        {
            null => new Dictionary<string, object?>(),
            IReadOnlyDictionary<string, object?> map => map,
            var other => throw read.Fail("auth.ldap", $"expected a map of settings, got {ConfigErrorContext.DescribeValue(other)}"),
        };
        string? Text(string name) => section.GetValueOrDefault(name)?.ToString() is { Length: > 0 } value ? value : null;
        bool Flag(string name) => section.GetValueOrDefault(name) switch
        {
            null or "" => false,
            bool b => b,
            var other => throw read.Fail($"auth.ldap.{name}", $"expected a boolean (true/false), got {ConfigErrorContext.DescribeValue(other)}"),
        };

        var urlText = Text("url") ?? throw read.Fail("auth.ldap.url", "required when auth.backend is ldap (ldap://host:389 or ldaps://host:636)");
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url) || url.Scheme is not ("ldap" or "ldaps") || url.Host.Length == 0)
            throw read.Fail("auth.ldap.url", $"expected ldap://host[:port] or ldaps://host[:port], got \"{urlText}\"");
        var startTls = Flag("starttls");
        if (startTls && url.Scheme == "ldaps") throw read.Fail("auth.ldap.starttls", "not with an ldaps:// url, which is TLS already");

        var bindDn = Text("bind_dn");
        var searchBase = Text("search_base");
        if (bindDn is null && searchBase is null)
            throw read.Fail("auth.ldap.bind_dn", "required (or auth.ldap.search_base) when auth.backend is ldap, e.g. uid={username},ou=people,dc=example,dc=org");
        if (bindDn is not null && searchBase is not null)
            throw read.Fail("auth.ldap.bind_dn", "set either auth.ldap.bind_dn or auth.ldap.search_base, not both");
        if (bindDn is not null && !bindDn.Contains(UsernamePlaceholder, StringComparison.Ordinal))
            throw read.Fail("auth.ldap.bind_dn", $"must contain {UsernamePlaceholder}");
        var filter = Text("search_filter") ?? "(uid={username})";
        if (!filter.Contains(UsernamePlaceholder, StringComparison.Ordinal) || !filter.StartsWith('(') || !filter.EndsWith(')'))
            throw read.Fail("auth.ldap.search_filter", $"expected a filter in parentheses containing {UsernamePlaceholder}, e.g. (uid={UsernamePlaceholder})");
        var searchBindDn = Text("search_bind_dn");
        var searchBindPassword = Text("search_bind_password");
        if ((searchBindDn is null) != (searchBindPassword is null))
            throw read.Fail(searchBindDn is null ? "auth.ldap.search_bind_dn" : "auth.ldap.search_bind_password",
                "auth.ldap.search_bind_dn and auth.ldap.search_bind_password go together");

        string? caFile = null;
        if (Text("ca_file") is { } ca)
        {
            caFile = Path.GetFullPath(ca, workingDirectory);
            if (!File.Exists(caFile)) throw read.Fail("auth.ldap.ca_file", $"the file {caFile} does not exist");
        }
        var timeout = section.GetValueOrDefault("timeout_seconds") switch
        {
            null or "" => 5,
            long l and > 0 and <= 300 => l,
            var other => throw read.Fail("auth.ldap.timeout_seconds", $"expected an integer from 1 to 300, got {ConfigErrorContext.DescribeValue(other)}"),
        };

        return new LdapSettings
        {
            Url = url,
            StartTls = startTls,
            CaFile = caFile,
            BindDn = bindDn,
            SearchBase = searchBase,
            SearchFilter = filter,
            SearchBindDn = searchBindDn,
            SearchBindPassword = searchBindPassword,
            AdminGroup = Text("admin_group"),
            Timeout = TimeSpan.FromSeconds(timeout),
        };
    }
}
