using System.Globalization;
using System.Text;
using Registry.Core.Names;
using Registry.Index.Search;
using static Registry.V1.Web.UiHtml;

namespace Registry.V1.Web;

/// <summary>The search results page (<c>/ui/search?q=&amp;page=</c>) and the small pages (login, messages, confirmations).</summary>
public static class SearchPageHtml
{
    public static string Results(string query, SearchResult result, TagMatches tagMatches)
    {
        var html = new StringBuilder(4096);
        html.Append("<h1>").Append(query.Length == 0 ? "Repositories" : "Search results for “" + E(query) + "”").Append("</h1>");
        if (tagMatches.Matches.Count > 0 || tagMatches.Scanned is not null)
        {
            html.Append("<section aria-labelledby=\"tag-matches\"><h2 id=\"tag-matches\">Tags and images</h2><ul class=\"results\">");
            foreach (var m in tagMatches.Matches)
                html.Append("<li><a href=\"/ui/r/").Append(PathOf(m.Repository)).Append("?tag=").Append(Q(m.Tag)).Append("\">")
                    .Append(E(m.Repository)).Append(m.Tag.Length > 0 ? ":" + E(m.Tag) : "").Append("</a> <span class=\"muted\">")
                    .Append(E(m.Why)).Append("</span></li>");
            html.Append("</ul>");
            if (tagMatches.Scanned is { } scan)
            {
                html.Append("<p class=\"muted\" id=\"scan-status\">").Append(tagMatches.Matches.Count == 0 ? "None found in" : "Looked through")
                    .Append(" repositories ").Append(Math.Min(scan.From + 1, scan.To).ToString("N0", CultureInfo.InvariantCulture)).Append('–')
                    .Append(scan.To.ToString("N0", CultureInfo.InvariantCulture)).Append(" of ").Append(scan.Total.ToString("N0", CultureInfo.InvariantCulture)).Append(".");
                if (scan.Next is { } next)
                    html.Append(" <a rel=\"next\" id=\"scan-next\" href=\"/ui/search?q=").Append(Q(query)).Append("&amp;from=").Append(next.ToString(CultureInfo.InvariantCulture))
                        .Append("\">Look through the next ").Append(Math.Min(UiSearch.MaxScanned, scan.Total - next).ToString("N0", CultureInfo.InvariantCulture)).Append(" →</a>");
                html.Append("</p>");
            }
            html.Append("</section>");
        }
        var page = result.Page!;
        var pages = Math.Max(1, (page.NumResults + result.PageSize - 1) / result.PageSize);
        html.Append("<p class=\"muted\" role=\"status\">").Append(page.NumResults.ToString(CultureInfo.InvariantCulture))
            .Append(page.NumResults == 1 ? " repository" : " repositories").Append(", page ").Append(result.PageNumber).Append(" of ")
            .Append(pages.ToString(CultureInfo.InvariantCulture)).Append("</p>");
        html.Append("<ol class=\"results\" id=\"results\">");
        foreach (var entry in page.Results)
        {
            html.Append("<li><a class=\"repo\" href=\"/ui/r/").Append(PathOf(entry.Name)).Append("\">").Append(E(entry.Name)).Append("</a>");
            if (entry.Name.StartsWith(RepositoryName.DefaultNamespace + "/", StringComparison.Ordinal)) html.Append(" <span class=\"badge\">official</span>");
            html.Append(" <span class=\"stars\" title=\"stars\">★ ").Append(entry.StarCount).Append("</span>");
            if (entry.Description.Length > 0) html.Append("<p>").Append(E(FirstLine(entry.Description))).Append("</p>");
            html.Append("</li>");
        }
        html.Append("</ol>");
        if (page.Results.Count == 0) html.Append("<p>No repository matches.</p>");
        html.Append("<nav class=\"paging\" aria-label=\"Pages\">");
        if (result.PageNumber > 1)
            html.Append("<a rel=\"prev\" href=\"/ui/search?q=").Append(Q(query)).Append("&amp;page=").Append(result.PageNumber - 1).Append("\">← Previous</a> ");
        if (result.PageNumber < pages)
            html.Append("<a rel=\"next\" href=\"/ui/search?q=").Append(Q(query)).Append("&amp;page=").Append(result.PageNumber + 1).Append("\">Next →</a>");
        return html.Append("</nav>").ToString();
    }

    public static string Login(UiSession session, string user, string? error, string returnTo) =>
        "<h1>Log in</h1>" + (error is null ? "" : $"<p class=\"error\" role=\"alert\">{E(error)}</p>") +
        "<form method=\"post\" action=\"/ui/login\" class=\"stack\">" + CsrfField(session) +
        $"<input type=\"hidden\" name=\"return\" value=\"{E(returnTo)}\">" +
        $"<label for=\"user\">User name</label><input id=\"user\" name=\"user\" autocomplete=\"username\" required value=\"{E(user)}\">" +
        "<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>" +
        "<button type=\"submit\">Log in</button></form>";

    public static string Message(string title, string text) => $"<h1>{E(title)}</h1><p>{E(text)}</p><p><a href=\"/ui/\">Back to the repositories</a></p>";

    /// <summary>The confirmation before deleting a tag (when <paramref name="tag"/> is set) or the whole repository.</summary>
    public static string ConfirmDelete(UiSession session, string name, string? tag, bool isV2) =>
        $"<h1>Delete {(tag is null ? "repository" : "tag")}</h1>" +
        $"<p>Delete <strong>{E(name)}{(tag is null ? "" : ":" + E(tag))}</strong>? " +
        (tag is null ? "Every tag of the repository is removed; the images stay until garbage collection." : "The tag is removed; its image stays until garbage collection.") +
        "</p>" +
        $"<form method=\"post\" action=\"/ui/delete/{PathOf(name)}\">" + CsrfField(session) +
        (tag is null ? "" : $"<input type=\"hidden\" name=\"tag\" value=\"{E(tag)}\"><input type=\"hidden\" name=\"kind\" value=\"{(isV2 ? "v2" : "v1")}\">") +
        $"<button type=\"submit\" class=\"danger\">Delete</button> <a href=\"/ui/r/{PathOf(name)}\">Cancel</a></form>";

    private static string FirstLine(string text)
    {
        var line = text.AsSpan().Trim();
        var end = line.IndexOfAny('\r', '\n');
        return (end < 0 ? line : line[..end]).ToString();
    }
}

/// <summary>A tag or image found by tag name or digest (item of the search page above the repositories).</summary>
public sealed record TagMatch(string Repository, string Tag, string Why);
