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

    /// <summary>The URL as logs and error bodies may show it: scheme, host, port and path, never the credentials.</summary>
    public static string Display(Uri url) =>
        url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped).TrimEnd('/');
}
