using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace Registry.V1.Web;

/// <summary>
/// The page frame every web interface page shares (landmarks, the search box, the account links) and the few helpers
/// the pages write HTML with. Every value that comes from a user, a repository or a request goes through
/// <see cref="E"/>; the only unencoded HTML besides the frame is the Markdown rendering of <see cref="UiMarkdown"/>.
/// </summary>
public static class UiHtml
{
    /// <summary>HTML-encodes text for an element or a quoted attribute.</summary>
    public static string E(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    /// <summary>Encodes a query string value.</summary>
    public static string Q(string? text) => Uri.EscapeDataString(text ?? "");

    /// <summary>A repository name as a path (each part escaped, the slashes kept).</summary>
    public static string PathOf(string name) => string.Join('/', name.Split('/').Select(Uri.EscapeDataString));

    public static string Bytes(long? size)
    {
        if (size is not { } n) return "–";
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        double value = n;
        var unit = 0;
        while (value >= 1000 && unit < units.Length - 1) (value, unit) = (value / 1000, unit + 1);
        return unit == 0 ? $"{n} B" : value.ToString(value < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>A hidden field with the session's CSRF token, for every POST form.</summary>
    public static string CsrfField(UiSession session) =>
        $"<input type=\"hidden\" name=\"{UiSessionService.CsrfField}\" value=\"{E(session.CsrfToken)}\">";

    /// <summary>The whole document: head with the hashed assets, header with search and account, the main content.</summary>
    public static string Page(UiAssets assets, UiSession session, bool authEnabled, bool isAdmin, string title, string query, string main)
    {
        var html = new StringBuilder(main.Length + 2048);
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(E(title)).Append(" · Registry</title>")
            .Append("<link rel=\"stylesheet\" href=\"/ui/assets/").Append(assets.Css.FileName).Append("\">")
            .Append("<link rel=\"icon\" type=\"image/svg+xml\" href=\"/ui/assets/").Append(assets.Icon.FileName).Append("\">")
            .Append("<script src=\"/ui/assets/").Append(assets.Script.FileName).Append("\" defer></script></head><body>")
            .Append("<a class=\"skip\" href=\"#main\">Skip to content</a>")
            .Append("<header class=\"top\"><a class=\"brand\" href=\"/ui/\">Registry</a>")
            .Append("<form class=\"search\" role=\"search\" action=\"/ui/search\" method=\"get\">")
            .Append("<label for=\"q\" class=\"visually-hidden\">Search repositories, tags or digests</label>")
            .Append("<input id=\"q\" name=\"q\" type=\"search\" autocomplete=\"off\" placeholder=\"Search repositories, tags, sha256:…\" value=\"")
            .Append(E(query)).Append("\"><button type=\"submit\">Search</button></form>")
            .Append("<nav aria-label=\"Account\">");
        if (!authEnabled) html.Append("<span class=\"muted\">Authentication is off</span>");
        else if (session.User is { } user)
            html.Append(isAdmin ? "<a href=\"/ui/admin/gc\">Garbage collection</a> <a href=\"/ui/admin/users\">Users</a> " : "").Append("<a href=\"/ui/account\">Account</a> <span>Logged in as <strong>").Append(E(user)).Append("</strong></span> ")
                .Append("<form method=\"post\" action=\"/ui/logout\" class=\"inline\">").Append(CsrfField(session))
                .Append("<button type=\"submit\">Log out</button></form>");
        else html.Append("<a href=\"/ui/login\">Log in</a>");
        html.Append("</nav></header><main id=\"main\" tabindex=\"-1\">").Append(main).Append("</main></body></html>");
        return html.ToString();
    }
}
