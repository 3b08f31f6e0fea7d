using System.Globalization;
using System.Text;
using Registry.Core.Names;
using Registry.Index.Hub;
using static Registry.V1.Web.UiHtml;

namespace Registry.V1.Web;

/// <summary>
/// The Hub part of the repository page (stars, comments, the owner's description form), over the index's
/// <see cref="RepositoryHub"/> with the session's user: the same rules as the <c>/v1/</c> Hub API.
/// </summary>
public static class UiHub
{
    public const int CommentsShown = 50;

    /// <summary>The star bar (shown under the title) and the description form and comments (shown after the history).</summary>
    public static async Task<(string Stars, string Comments)> RenderAsync(RepositoryHub hub, UiSession session, RepositoryName name, RepositoryPermissions can, string description, CancellationToken ct)
    {
        var summary = await hub.SummaryAsync(session.Principal, name, ct);
        if (summary.Value is not { } repo) return ("", "");
        var comments = await hub.CommentsAsync(session.Principal, name, new HubPageRequest(1, CommentsShown), ct);
        var path = PathOf(name.FullName);
        var html = new StringBuilder(2048);

        html.Append("<div class=\"hub\"><span id=\"star-count\">★ ").Append(repo.StarCount.ToString(CultureInfo.InvariantCulture))
            .Append(repo.StarCount == 1 ? " star" : " stars").Append("</span>");
        if (session.User is not null)
            html.Append("<form method=\"post\" action=\"/ui/star/").Append(path).Append("\" class=\"inline\">").Append(CsrfField(session))
                .Append("<input type=\"hidden\" name=\"star\" value=\"").Append(repo.Starred ? "false" : "true").Append("\">")
                .Append("<button type=\"submit\" aria-pressed=\"").Append(repo.Starred ? "true" : "false").Append("\">")
                .Append(repo.Starred ? "Unstar" : "Star").Append("</button></form>");
        html.Append("</div>");
        var stars = html.ToString();
        html.Clear();

        if (can.CanEdit && session.User is not null)
            html.Append("<details><summary>Edit description</summary><form method=\"post\" action=\"/ui/description/").Append(path)
                .Append("\" class=\"stack\">").Append(CsrfField(session))
                .Append("<label for=\"description-text\">Description (Markdown)</label>")
                .Append("<textarea id=\"description-text\" name=\"description\" rows=\"6\" maxlength=\"").Append(Registry.Index.Search.RepositoryCatalog.MaxDescriptionLength)
                .Append("\">").Append(E(description)).Append("</textarea><button type=\"submit\">Save description</button></form></details>");

        var list = comments.Value;
        html.Append("<section aria-labelledby=\"comments\"><h2 id=\"comments\">Comments (").Append(repo.CommentCount).Append(")</h2><ul class=\"comments\">");
        foreach (var comment in list?.Items ?? [])
        {
            html.Append("<li id=\"comment-").Append(comment.Id).Append("\"><strong>").Append(E(comment.User)).Append("</strong> <span class=\"muted\">")
                .Append(DateTimeOffset.FromUnixTimeSeconds(comment.Created).UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture))
                .Append(" UTC</span><p class=\"comment-body\">").Append(E(comment.Text)).Append("</p>");
            if (session.User is { } user && (user == comment.User || can.IsAdmin))
                html.Append("<form method=\"post\" action=\"/ui/comments/").Append(path).Append("\" class=\"inline\">").Append(CsrfField(session))
                    .Append("<input type=\"hidden\" name=\"delete\" value=\"").Append(comment.Id).Append("\">")
                    .Append("<button type=\"submit\" aria-label=\"Delete comment ").Append(comment.Id).Append("\">Delete</button></form>");
            html.Append("</li>");
        }
        html.Append("</ul>");
        if (session.User is not null)
            html.Append("<form method=\"post\" action=\"/ui/comments/").Append(path).Append("\" class=\"stack\">").Append(CsrfField(session))
                .Append("<label for=\"comment-text\">Add a comment</label><textarea id=\"comment-text\" name=\"comment\" rows=\"3\" required maxlength=\"")
                .Append(RepositoryHub.MaxCommentLength).Append("\"></textarea><button type=\"submit\">Comment</button></form>");
        else html.Append("<p class=\"muted\"><a href=\"/ui/login?return=/ui/r/").Append(path).Append("\">Log in</a> to star or comment.</p>");
        return (stars, html.Append("</section>").ToString());
    }
}
