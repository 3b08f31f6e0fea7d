using System.Globalization;

namespace Registry.Core.Configuration;

/// <summary>
/// One upstream registry the v2 API mirrors (docs/configuration.md, 'Mirror'): repository names under
/// <see cref="Prefix"/><c>/</c> (every name when the prefix is empty) are pulled through from <see cref="RemoteUrl"/>
/// with the prefix stripped. <see cref="Ttl"/> is how long a cached tag is served before the upstream is asked again;
/// <see cref="Retention"/> (null: off) how long a cached repository nobody pulls stays before garbage collection
/// expires it (docs/garbage-collection.md, 'Mirror retention').
/// </summary>
public sealed record ProxyUpstream(string Prefix, Uri RemoteUrl, string? Username, string? Password, TimeSpan Ttl, TimeSpan? Retention = null)
{
    /// <summary>Docker Hub's registry hosts: one-part names get <c>library/</c> there, as the docker client does.</summary>
    public bool IsDockerHub => RemoteUrl.Host is "registry-1.docker.io" or "index.docker.io" or "docker.io";

    /// <summary>The upstream's address without credentials, as logs and error bodies name it.</summary>
    public string Url => RemoteUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');

    public bool HasCredentials => Username is not null;

    /// <summary>
    /// The upstream repository for a local name under this upstream's prefix, or null when the name is not under it.
    /// </summary>
    public string? UpstreamName(string name)
    {
        string rest;
        if (Prefix.Length == 0) rest = name;
        else if (name.Length > Prefix.Length + 1 && name.StartsWith(Prefix + "/", StringComparison.Ordinal)) rest = name[(Prefix.Length + 1)..];
        else return null;
        return IsDockerHub && !rest.Contains('/') ? "library/" + rest : rest;
    }

    /// <summary>"prefix -> url (ttl)" for the start-up line; never the credentials.</summary>
    public string Describe() =>
        $"{(Prefix.Length == 0 ? "*" : Prefix + "/*")} -> {Url} (ttl {ProxySettings.FormatDuration(Ttl)}" +
        $"{(Retention is { } r ? ", retention " + ProxySettings.FormatDuration(r) : "")}{(HasCredentials ? ", credentials" : "")})";
}

/// <summary>
/// The <c>proxy:</c> section (docs/configuration.md, 'Mirror'): distribution's pull-through cache settings
/// (<c>remoteurl</c>, <c>username</c>, <c>password</c>, <c>ttl</c>) for one upstream, and <c>upstreams</c>, a list
/// of the same settings plus a <c>prefix</c> each, for several. Off when neither names a remote URL. <c>retention</c>
/// (ours; also per list entry, where <c>proxy.retention</c> is the default) lets garbage collection expire cached
/// repositories not pulled for that long; unset or empty keeps cached content until deleted.
/// </summary>
public sealed record ProxySettings
{
    /// <summary>distribution's default <c>proxy.ttl</c>.</summary>
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(168);

    /// <summary>The upstreams, longest prefix first, so the first whose prefix matches a name is the right one.</summary>
    public IReadOnlyList<ProxyUpstream> Upstreams { get; init; } = [];

    public bool Enabled => Upstreams.Count > 0;

    /// <summary>The upstream a local repository name is mirrored from and its name there, or null for a purely local name.</summary>
    public (ProxyUpstream Upstream, string Name)? Resolve(string name)
    {
        foreach (var upstream in Upstreams)
            if (upstream.UpstreamName(name) is { } remote) return (upstream, remote);
        return null;
    }

    /// <summary>What start-up says: "off" or each upstream.</summary>
    public string Describe() => Enabled ? string.Join(", ", Upstreams.Select(u => u.Describe())) : "off";

    internal static ProxySettings Read(SettingsReader read)
    {
        var upstreams = new List<ProxyUpstream>();
        var retention = Retention(read, "proxy.retention", read.Get("proxy.retention"), null);
        if (Text(read, "proxy.remoteurl") is { } single)
            upstreams.Add(Upstream(read, "proxy", "", single, read.Get("proxy.username"), read.Get("proxy.password"), read.Get("proxy.ttl")) with { Retention = retention });

        switch (read.Get("proxy.upstreams"))
        {
            case null:
            case string s when s.Trim().Length == 0:
                break;
            case IReadOnlyList<object?> list:
                for (var i = 0; i < list.Count; i++)
                {
                    var key = $"proxy.upstreams[{i.ToString(CultureInfo.InvariantCulture)}]";
                    if (list[i] is not IReadOnlyDictionary<string, object?> map)
                        throw read.Fail("proxy.upstreams", $"entry {i} must be a map with prefix and remoteurl, got {ConfigErrorContext.DescribeValue(list[i])}");
                    var prefix = map.GetValueOrDefault("prefix") switch
                    {
                        string p when IsValidPrefix(p.Trim().Trim('/')) => p.Trim().Trim('/'),
                        var other => throw read.Fail("proxy.upstreams", $"{key}.prefix must be a repository name (lower-case components separated by /), got {ConfigErrorContext.DescribeValue(other)}"),
                    };
                    var url = map.GetValueOrDefault("remoteurl") as string;
                    if (string.IsNullOrWhiteSpace(url)) throw read.Fail("proxy.upstreams", $"{key}.remoteurl is required");
                    upstreams.Add(Upstream(read, key, prefix, url, map.GetValueOrDefault("username"), map.GetValueOrDefault("password"), map.GetValueOrDefault("ttl"))
                        with { Retention = Retention(read, "proxy.upstreams", map.GetValueOrDefault("retention"), retention) });
                }
                break;
            case var other:
                throw read.Fail("proxy.upstreams", $"expected a list of {{prefix, remoteurl, username, password, ttl, retention}} maps, got {ConfigErrorContext.DescribeValue(other)}");
        }

        var duplicate = upstreams.GroupBy(u => u.Prefix, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw read.Fail("proxy.upstreams", $"the prefix \"{duplicate.Key}\" is mirrored twice (proxy.remoteurl is the prefix \"\")");

        return new ProxySettings { Upstreams = [.. upstreams.OrderByDescending(u => u.Prefix.Length)] };
    }

    private static ProxyUpstream Upstream(SettingsReader read, string key, string prefix, string url, object? username, object? password, object? ttl)
    {
        var urlKey = key == "proxy" ? "proxy.remoteurl" : "proxy.upstreams";
        // The value is not echoed: a URL may carry credentials.
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Query.Length > 0
            || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
            throw read.FailHidingValue(urlKey, $"{(key == "proxy" ? "" : key + ".remoteurl ")}must be an http:// or https:// URL of a registry without credentials (e.g. https://registry-1.docker.io; credentials go in username and password)");
        var user = Credential(username);
        var pass = Credential(password);
        if ((user is null) != (pass is null))
            throw read.Fail(key == "proxy" ? "proxy.username" : "proxy.upstreams", $"{(key == "proxy" ? "" : key + ": ")}username and password must be set together");
        var ttlKey = key == "proxy" ? "proxy.ttl" : "proxy.upstreams";
        return new ProxyUpstream(prefix, uri, user, pass, Duration(read, ttlKey, ttl, DefaultTtl));
    }

    /// <summary>A retention: a positive duration, or <paramref name="fallback"/> when unset or empty.</summary>
    private static TimeSpan? Retention(SettingsReader read, string key, object? value, TimeSpan? fallback)
    {
        if (value is null || value is string s && s.Trim().Length == 0) return fallback;
        var parsed = Duration(read, key, value, TimeSpan.Zero);
        if (parsed <= TimeSpan.Zero)
            throw read.Fail(key, $"a retention must be longer than 0 (leave it unset to keep cached content), got {ConfigErrorContext.DescribeValue(value)}");
        return parsed;
    }

    private static string? Credential(object? value) => value switch
    {
        string s when s.Length > 0 => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    private static string? Text(SettingsReader read, string key) => read.Get(key) switch
    {
        null => null,
        string s => s.Trim().Length == 0 ? null : s,
        var other => throw read.Fail(key, $"expected a URL, got {ConfigErrorContext.DescribeValue(other)}"),
    };

    /// <summary>A Go duration (<c>168h</c>, <c>1h30m</c>, <c>10s</c>, <c>500ms</c>) or a plain number of seconds; "" or null is <paramref name="fallback"/>.</summary>
    private static TimeSpan Duration(SettingsReader read, string key, object? value, TimeSpan fallback)
    {
        switch (value)
        {
            case null:
            case string s0 when s0.Trim().Length == 0:
                return fallback;
            case long l when l >= 0:
                return TimeSpan.FromSeconds(l);
            case string s when TryParseDuration(s.Trim(), out var parsed):
                return parsed;
            default:
                throw read.Fail(key, $"expected a duration such as 168h, 30m, 10s or a number of seconds (0 or more), got {ConfigErrorContext.DescribeValue(value)}");
        }
    }

    /// <summary>Go's <c>time.ParseDuration</c> for non-negative values, plus a bare integer meaning seconds.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (text.Length == 0) return false;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            duration = TimeSpan.FromSeconds(seconds);
            return true;
        }
        var i = 0;
        double total = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
            if (i == start || !double.TryParse(text[start..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)) return false;
            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i]) || i < text.Length && text[i] == 'µ') i++;
            double? scale = text[unitStart..i] switch
            {
                "ns" => 1e-9,
                "us" or "µs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => null,
            };
            if (scale is null) return false;
            total += number * scale.Value;
        }
        if (total > TimeSpan.MaxValue.TotalSeconds) return false;
        duration = TimeSpan.FromSeconds(total);
        return true;
    }

    /// <summary>A duration as Go prints whole units: <c>168h0m0s</c> becomes <c>168h</c>, <c>90s</c> <c>1m30s</c>.</summary>
    public static string FormatDuration(TimeSpan value)
    {
        if (value == TimeSpan.Zero) return "0s";
        var parts = new List<string>();
        var hours = (long)value.TotalHours;
        if (hours > 0) parts.Add($"{hours.ToString(CultureInfo.InvariantCulture)}h");
        if (value.Minutes > 0) parts.Add($"{value.Minutes.ToString(CultureInfo.InvariantCulture)}m");
        var secs = value.Seconds + value.Milliseconds / 1000.0;
        if (secs > 0) parts.Add($"{secs.ToString(CultureInfo.InvariantCulture)}s");
        return string.Concat(parts);
    }

    private static bool IsValidPrefix(string prefix) =>
        prefix.Length is > 0 and < 200
        && prefix.Split('/').All(c => c.Length > 0 && c.All(ch => ch is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '-')
                                      && char.IsAsciiLetterOrDigit(c[0]) && char.IsAsciiLetterOrDigit(c[^1]));
}
