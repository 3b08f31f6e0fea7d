using System.Text.RegularExpressions;

namespace Registry.Index.Search;

/// <summary>
/// Turns the <c>sqlalchemy_index_database</c> setting into a database file path. Accepts the original's
/// SQLAlchemy URLs (<c>sqlite:////abs/path.db</c>, <c>sqlite:///relative.db</c>, also <c>sqlite+driver://</c>)
/// and a plain path.
/// </summary>
public static partial class SearchDatabaseLocation
{
    /// <summary>
    /// Returns the absolute file path; a relative path is resolved against <paramref name="workingDirectory"/>.
    /// Throws <see cref="ArgumentException"/> for in-memory SQLite URLs and for other database kinds.
    /// </summary>
    public static string Parse(string value, string workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = value.Trim();
        if (text.Length == 0)
        {
            throw new ArgumentException(
                "sqlalchemy_index_database is empty; give a file path or a sqlite:/// URL.", nameof(value));
        }

        var url = UrlScheme().Match(text);
        if (url.Success)
        {
            var scheme = url.Groups["scheme"].Value;
            var dialect = scheme.Split('+')[0];
            if (!dialect.Equals("sqlite", StringComparison.OrdinalIgnoreCase))
            {
                // Only the scheme is echoed: the rest of such a URL usually carries a password.
                throw new ArgumentException(
                    $"sqlalchemy_index_database uses '{scheme}://', but only SQLite and PostgreSQL are supported: " +
                    "use sqlite:////absolute/path.db, sqlite:///relative/path.db, a plain file path or postgresql://user:password@host:port/database.",
                    nameof(value));
            }

            // SQLAlchemy: "sqlite://" + "/" + path, where an absolute path brings its own leading slash.
            var rest = text[url.Length..];
            var query = rest.IndexOf('?');
            if (query >= 0)
            {
                rest = rest[..query];
            }

            if (!rest.StartsWith('/') || rest.Length == 1 || rest == "/:memory:")
            {
                throw new ArgumentException(
                    "sqlalchemy_index_database names an in-memory SQLite database, which cannot be shared " +
                    "between connections and processes; give a file, e.g. sqlite:////var/lib/registry/index.db.",
                    nameof(value));
            }

            text = rest[1..];
        }

        return Path.GetFullPath(Path.IsPathRooted(text) ? text : Path.Combine(workingDirectory, text));
    }

    [GeneratedRegex("^(?<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")]
    private static partial Regex UrlScheme();
}
