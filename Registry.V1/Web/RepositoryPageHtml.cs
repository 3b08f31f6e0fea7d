using System.Globalization;
using System.Text;
using static Registry.V1.Web.UiHtml;

namespace Registry.V1.Web;

/// <summary>What the viewer of a repository page may do there.</summary>
public sealed record RepositoryPermissions(bool CanDelete, bool CanEdit, bool IsAdmin);

/// <summary>The repository page (<c>/ui/r/&lt;name&gt;</c>): description, tags, pull command, history, and the owner's actions.</summary>
public static class RepositoryPageHtml
{
    public static string Render(RepositoryView repo, UiSession session, RepositoryPermissions can, string host, (string Stars, string Comments) hub)
    {
        var html = new StringBuilder(8192);
        html.Append("<h1>").Append(E(repo.Name));
        if (repo.IsPrivate) html.Append(" <span class=\"badge\">private</span>");
        html.Append("</h1>").Append(hub.Stars);

        html.Append("<section aria-labelledby=\"about\"><h2 id=\"about\">Description</h2>");
        html.Append(repo.Description.Trim().Length == 0
            ? "<p class=\"muted\">No description.</p>"
            : "<div class=\"markdown\" id=\"description\">" + UiMarkdown.ToHtml(repo.Description) + "</div>");
        html.Append("</section>");

        if (repo.Selected is { } selected)
        {
            var pull = $"docker pull {host}/{repo.Name}:{selected}";
            html.Append("<section aria-labelledby=\"pull\"><h2 id=\"pull\">Pull</h2><div class=\"pull\">")
                .Append("<code id=\"pull-command\">").Append(E(pull)).Append("</code>")
                .Append("<button type=\"button\" class=\"copy\" data-copy=\"pull-command\" hidden>Copy</button>")
                .Append("<span class=\"copied\" role=\"status\" aria-live=\"polite\"></span></div></section>");
        }

        html.Append("<section aria-labelledby=\"tags\"><h2 id=\"tags\">Tags</h2>");
        if (repo.Tags.Count == 0) html.Append("<p class=\"muted\">No tags.</p>");
        else
        {
            html.Append("<table class=\"tags\"><thead><tr><th scope=\"col\">Tag</th><th scope=\"col\">Digest or image id</th>")
                .Append("<th scope=\"col\">Size</th><th scope=\"col\">Created</th><th scope=\"col\">OS/architecture</th>");
            if (can.CanDelete) html.Append("<th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th>");
            html.Append("</tr></thead><tbody>");
            foreach (var tag in repo.Tags)
            {
                html.Append("<tr data-tag=\"").Append(E(tag.Name)).Append("\"><th scope=\"row\"><a href=\"/ui/r/").Append(PathOf(repo.Name))
                    .Append("?tag=").Append(Q(tag.Name)).Append("\">").Append(E(tag.Name)).Append("</a></th>")
                    .Append("<td><code title=\"").Append(E(tag.Reference)).Append("\">").Append(E(Short(tag.Reference))).Append("</code>")
                    .Append(tag.IsV2 ? "" : " <span class=\"badge\">V1</span>").Append("</td>")
                    .Append("<td>").Append(Bytes(tag.Size)).Append("</td>")
                    .Append("<td>").Append(Time(tag.Created)).Append("</td>")
                    .Append("<td>").Append(tag.Platforms.Count == 0 ? "–" : E(string.Join(", ", tag.Platforms))).Append("</td>");
                if (can.CanDelete)
                    html.Append("<td><a class=\"danger\" href=\"/ui/delete/").Append(PathOf(repo.Name)).Append("?tag=").Append(Q(tag.Name))
                        .Append("&amp;kind=").Append(tag.IsV2 ? "v2" : "v1").Append("\" aria-label=\"Delete tag ").Append(E(tag.Name))
                        .Append("\">Delete</a></td>");
                html.Append("</tr>");
            }
            html.Append("</tbody></table>");
        }
        html.Append("</section>");

        if (repo.Selected is { } shown)
        {
            html.Append("<section aria-labelledby=\"history\"><h2 id=\"history\">History of ").Append(E(shown)).Append("</h2>");
            if (repo.History.Count == 0) html.Append("<p class=\"muted\">No history recorded.</p>");
            else
            {
                html.Append("<table class=\"history\"><thead><tr><th scope=\"col\">Layer</th><th scope=\"col\">Created by</th>")
                    .Append("<th scope=\"col\">Size</th><th scope=\"col\">Created</th></tr></thead><tbody>");
                foreach (var step in repo.History)
                    html.Append("<tr><td><code title=\"").Append(E(step.Id)).Append("\">").Append(E(Short(step.Id))).Append("</code></td>")
                        .Append("<td><code>").Append(E(step.CreatedBy)).Append("</code></td><td>").Append(Bytes(step.Size))
                        .Append("</td><td>").Append(Time(step.Created)).Append("</td></tr>");
                html.Append("</tbody></table>");
            }
            html.Append("</section>");
        }

        html.Append(hub.Comments);
        if (can.CanEdit && session.User is not null)
            html.Append("<p><a href=\"/ui/webhooks/").Append(PathOf(repo.Name)).Append("\">Webhooks of this repository</a></p>");
        if (can.CanDelete)
            html.Append("<section aria-labelledby=\"danger\"><h2 id=\"danger\">Delete</h2><p><a class=\"danger\" href=\"/ui/delete/")
                .Append(PathOf(repo.Name)).Append("\">Delete this repository…</a></p></section>");
        return html.ToString();
    }

    private static string Short(string reference)
    {
        var colon = reference.IndexOf(':');
        var hex = colon < 0 ? reference : reference[(colon + 1)..];
        return hex.Length > 12 ? (colon < 0 ? "" : reference[..(colon + 1)]) + hex[..12] : reference;
    }

    private static string Time(DateTimeOffset? time) => time is { } t
        ? $"<time datetime=\"{t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}\">{t.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC</time>"
        : "–";
}
