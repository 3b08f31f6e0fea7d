namespace Registry.Core.Configuration;

/// <summary>
/// Reads <c>mirroring.source</c> and <c>mirroring.source_index</c>: an absolute http(s) URL of a V1 registry or index,
/// optionally with <c>user:password@</c>, trailing '/' removed; empty means unset. A bad value stops start-up without
/// echoing it (it may carry a password).
/// </summary>
public static class MirrorUrl
{
    internal static string? Read(SettingsReader read, string key)
    {
        var text = read.Text(key)?.Trim();
        if (string.IsNullOrEmpty(text)) return null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.Host.Length == 0)
            throw read.FailHidingValue(key, "expected an http:// or https:// URL without query (e.g. https://registry-1.docker.io or http://user:password@host:5000)");
        return text.TrimEnd('/');
    }

    /// <summary>
    /// Reads <c>mirroring.username</c> and <c>mirroring.password</c>: Basic credentials for both upstreams (and for the
    /// index token flow). Both or neither; not next to credentials in a URL (one place says who the mirror is); only
    /// with <c>mirroring.source</c>.
    /// </summary>
    internal static MirrorCredentials? ReadCredentials(SettingsReader read)
    {
        var username = read.Text("mirroring.username");
        var password = read.Text("mirroring.password");
        if (string.IsNullOrEmpty(username) && string.IsNullOrEmpty(password)) return null;
        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password))
            throw read.FailHidingValue("mirroring.username", "mirroring.username and mirroring.password must be set together");
        if (username.Contains(':'))
            throw read.FailHidingValue("mirroring.username", "a Basic user name cannot contain ':'");
        if (string.IsNullOrEmpty(read.Text("mirroring.source")?.Trim()))
            throw read.FailHidingValue("mirroring.username", "credentials need mirroring.source (the upstream they are for)");
        foreach (var key in new[] { "mirroring.source", "mirroring.source_index" })
            if (Uri.TryCreate(read.Text(key)?.Trim(), UriKind.Absolute, out var url) && url.UserInfo.Length > 0)
                throw read.FailHidingValue("mirroring.username", $"{key} carries user:password@ already; set the credentials in one place");
        return new MirrorCredentials(username, password);
    }

    /// <summary>The URL as logs and error bodies may show it: scheme, host, port and path, never the credentials.</summary>
    public static string Display(Uri url) =>
        url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped).TrimEnd('/');
}

/// <summary><c>mirroring.username</c> and <c>mirroring.password</c> (docs/configuration.md, 'V1 mirroring').</summary>
public sealed record MirrorCredentials(string Username, string Password)
{
    /// <summary>Never the password: records print their members.</summary>
    public override string ToString() => $"MirrorCredentials {{ Username = {Username} }}";
}
