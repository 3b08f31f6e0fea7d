using System.Text;
using Registry.Index.Accounts;
using static Registry.V1.Web.UiHtml;

namespace Registry.V1.Web;

/// <summary>One scope row of the token form as the user filled it in (kept when the service refuses the form).</summary>
public sealed record ScopeRow(string Repository, bool Pull, bool Push, bool Delete);

/// <summary>The token form's fields as sent, so that a refused form comes back filled in.</summary>
public sealed record TokenForm(string Name, string Expires, IReadOnlyList<ScopeRow> Scopes)
{
    /// <summary>How many scope rows the form offers: the page works without script, so the rows are fixed.</summary>
    public const int ScopeRows = 3;

    /// <summary>An empty form: pull ticked in every row, the usual robot's need.</summary>
    public static TokenForm Empty { get; } = new("", "", Enumerable.Repeat(new ScopeRow("", true, false, false), ScopeRows).ToList());
}

/// <summary>
/// The account page (README, 'Web interface'): the user's access tokens with a revoke button each, the form that
/// creates one, the page that shows a new secret once, and the revoke confirmation.
/// </summary>
public static class AccountPageHtml
{
    public static string Render(UiSession session, IReadOnlyList<AccessToken> tokens, TokenForm form, string? error)
    {
        var html = new StringBuilder("<h1>Account of ").Append(E(session.User)).Append("</h1>")
            .Append("<section aria-labelledby=\"tokens\"><h2 id=\"tokens\">Access tokens</h2>")
            .Append("<p class=\"muted\">A robot (a CI job, a deploy script) uses a token as the password of <code>docker login -u ")
            .Append(E(session.User)).Append("</code>, limited to the token's repositories and actions. Tokens cannot log in here.</p>");
        Table(html, tokens, withUser: false);
        return html.Append("</section>").Append(Form(session, form, error)).ToString();
    }

    /// <summary>An admin's view of every user's access tokens, each with its revoke button.</summary>
    public static string All(IReadOnlyList<AccessToken> tokens)
    {
        var html = new StringBuilder("<h1>Access tokens</h1><p class=\"muted\">Every user's access tokens. Revoking one stops its robots at their next request.</p>");
        Table(html, tokens, withUser: true);
        return html.Append("<p><a href=\"/ui/admin/users\">Users</a></p>").ToString();
    }

    private static void Table(StringBuilder html, IReadOnlyList<AccessToken> tokens, bool withUser)
    {
        if (tokens.Count == 0) html.Append("<p class=\"muted\">No access tokens.</p>");
        else
        {
            html.Append("<table class=\"tokens\"><thead><tr>").Append(withUser ? "<th scope=\"col\">User</th>" : "")
                .Append("<th scope=\"col\">Name</th><th scope=\"col\">Scopes</th><th scope=\"col\">Created</th>")
                .Append("<th scope=\"col\">Expires</th><th scope=\"col\">Last used</th><th scope=\"col\"><span class=\"visually-hidden\">Actions</span></th></tr></thead><tbody>");
            foreach (var token in tokens)
            {
                html.Append("<tr data-token=\"").Append(E(token.Name)).Append("\">").Append(withUser ? "<td>" + E(token.User) + "</td>" : "")
                    .Append("<td>").Append(E(token.Name)).Append("</td><td>");
                foreach (var scope in token.Scopes)
                    html.Append("<code>").Append(E(scope.Repository)).Append("</code> ").Append(E(string.Join(", ", scope.Actions))).Append("<br>");
                html.Append("</td><td>").Append(Time(token.CreatedAt, "–")).Append("</td><td>").Append(Time(token.ExpiresAt, "never"))
                    .Append("</td><td>").Append(Time(token.LastUsedAt, "never")).Append("</td><td>")
                    .Append("<form method=\"get\" action=\"/ui/account/revoke\" class=\"inline\"><input type=\"hidden\" name=\"id\" value=\"").Append(E(token.Id))
                    .Append("\"><button type=\"submit\" class=\"danger\" aria-label=\"Revoke access token ").Append(E(token.Name))
                    .Append(withUser ? " of " + E(token.User) : "").Append("\">Revoke…</button></form></td></tr>");
            }
            html.Append("</tbody></table>");
        }
    }

    /// <summary>The answer to a successful creation: the only time the secret is ever shown.</summary>
    public static string Created(AccessToken token, string secret, string user, string host) =>
        $"<h1>Access token {E(token.Name)} created</h1>" +
        "<p class=\"error\" role=\"alert\">Copy the secret now: it is shown only this once and cannot be shown again. " +
        "If you lose it, revoke the token and create a new one.</p>" +
        "<div class=\"pull\"><code id=\"token-secret\">" + E(secret) + "</code>" +
        "<button type=\"button\" class=\"copy\" data-copy=\"token-secret\" hidden>Copy</button>" +
        "<span class=\"copied\" role=\"status\" aria-live=\"polite\"></span></div>" +
        $"<p>Use it as the password with your user name: <code>docker login -u {E(user)} {E(host)}</code></p>" +
        "<p><a href=\"/ui/account\">Back to the access tokens</a></p>";

    /// <summary>The confirmation; <paramref name="back"/> is the page the revoke came from (the account or the admin's list).</summary>
    public static string ConfirmRevoke(UiSession session, AccessToken token, string back) =>
        $"<h1>Revoke access token</h1><p>Revoke <strong>{E(token.Name)}</strong>" + (token.User == session.User ? "" : $" of <strong>{E(token.User)}</strong>") +
        "? Every robot using it loses access at its next request; this cannot be undone.</p>" +
        "<form method=\"post\" action=\"/ui/account/revoke\">" + CsrfField(session) +
        $"<input type=\"hidden\" name=\"id\" value=\"{E(token.Id)}\">" +
        $"<button type=\"submit\" class=\"danger\">Revoke</button> <a href=\"{back}\">Cancel</a></form>";

    private static string Form(UiSession session, TokenForm form, string? error)
    {
        var html = new StringBuilder("<section aria-labelledby=\"new-token\"><h2 id=\"new-token\">New access token</h2>");
        if (error is not null) html.Append("<p class=\"error\" role=\"alert\">").Append(E(error)).Append("</p>");
        html.Append("<form method=\"post\" action=\"/ui/account/tokens\" class=\"stack\">").Append(CsrfField(session))
            .Append("<label for=\"token-name\">Name</label><input id=\"token-name\" name=\"name\" required maxlength=\"64\" value=\"").Append(E(form.Name)).Append("\">");
        for (var i = 0; i < form.Scopes.Count; i++)
        {
            var row = form.Scopes[i];
            html.Append("<fieldset><legend>Scope ").Append(i + 1).Append(i == 0 ? "" : " (optional)").Append("</legend>")
                .Append("<label for=\"repository").Append(i).Append("\">Repository (<code>ns/name</code> or <code>ns/*</code>)</label>")
                .Append("<input id=\"repository").Append(i).Append("\" name=\"repository").Append(i).Append("\"").Append(i == 0 ? " required" : "")
                .Append(" value=\"").Append(E(row.Repository)).Append("\"> ")
                .Append(Check("pull", i, row.Pull)).Append(Check("push", i, row.Push)).Append(Check("delete", i, row.Delete)).Append("</fieldset>");
        }
        return html.Append("<label for=\"token-expires\">Expires (optional; at 00:00 UTC of that day)</label>")
            .Append("<input id=\"token-expires\" name=\"expires\" type=\"date\" value=\"").Append(E(form.Expires)).Append("\">")
            .Append("<button type=\"submit\">Create access token</button></form></section>").ToString();
    }

    private static string Check(string action, int row, bool on) =>
        $"<label><input type=\"checkbox\" name=\"{action}{row}\" value=\"true\"{(on ? " checked" : "")}> {action}</label> ";

    private static string Time(string? iso, string none) => iso is null ? none : $"<time datetime=\"{E(iso)}\">{E(iso.Replace('T', ' ').TrimEnd('Z'))} UTC</time>";
}
