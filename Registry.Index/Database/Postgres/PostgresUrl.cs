using System.Globalization;
using Npgsql;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// The PostgreSQL URLs that <c>sqlalchemy_index_database</c> accepts, in the forms SQLAlchemy documents
/// ("Database URLs"; the libpq "Connection URIs" of the PostgreSQL manual, section 34.1.1):
/// <c>postgresql[+driver]://[user[:password]@][host][:port][/database][?param=value&amp;...]</c>. The driver
/// part (psycopg2, psycopg, pg8000, asyncpg) names a Python client and is ignored here.
/// </summary>
public static class PostgresUrl
{
    private static readonly string[] Schemes = ["postgresql", "postgres"];

    /// <summary>True when <paramref name="value"/> is a URL of the PostgreSQL engine (any driver).</summary>
    public static bool IsPostgres(string value)
    {
        if (value.Split("://", 2) is not [var head, _]) return false;
        var scheme = head.Split('+')[0].Trim();
        return Schemes.Any(s => s.Equals(scheme, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The Npgsql connection settings of <paramref name="url"/>. The password comes from the URL, else from
    /// <paramref name="pgPassword"/> (the <c>PGPASSWORD</c> variable libpq reads). Throws
    /// <see cref="ArgumentException"/> with a message that never contains the password.
    /// </summary>
    public static NpgsqlConnectionStringBuilder Parse(string url, string? pgPassword)
    {
        if (!IsPostgres(url)) throw new ArgumentException("expected a postgresql:// URL", nameof(url));
        var rest = url.Split("://", 2)[1];
        var builder = new NpgsqlConnectionStringBuilder();

        var queryStart = rest.IndexOf('?');
        var query = queryStart < 0 ? "" : rest[(queryStart + 1)..];
        if (queryStart >= 0) rest = rest[..queryStart];
        var slash = rest.IndexOf('/');
        var authority = slash < 0 ? rest : rest[..slash];
        var database = slash < 0 ? "" : Decode(rest[(slash + 1)..]);

        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var credentials = authority[..at];
            authority = authority[(at + 1)..];
            var colon = credentials.IndexOf(':');
            builder.Username = Decode(colon < 0 ? credentials : credentials[..colon]);
            if (colon >= 0) builder.Password = Decode(credentials[(colon + 1)..]);
        }

        var (host, port) = SplitHostPort(authority);
        if (host.Length > 0) builder.Host = host;
        if (port is { } p) builder.Port = p;
        if (database.Length > 0) builder.Database = database;

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = Decode(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Decode(pair[(eq + 1)..]);
            Apply(builder, key, value);
        }

        if (string.IsNullOrEmpty(builder.Password) && !string.IsNullOrEmpty(pgPassword)) builder.Password = pgPassword;
        if (string.IsNullOrEmpty(builder.Host)) builder.Host = "localhost";
        return builder;
    }

    /// <summary>The URL with its password replaced by <c>***</c>, for messages.</summary>
    public static string Masked(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0) return url;
        var start = schemeEnd + 3;
        var end = url.IndexOfAny(['/', '?'], start);
        if (end < 0) end = url.Length;
        var at = url.LastIndexOf('@', end - 1, end - start);
        if (at < 0) return url;
        var colon = url.IndexOf(':', start, at - start);
        return colon < 0 ? url : url[..(colon + 1)] + "***" + url[at..];
    }

    private static (string Host, int? Port) SplitHostPort(string authority)
    {
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']');
            if (close < 0) throw new ArgumentException("an IPv6 host in brackets lacks its closing ']'");
            var after = authority[(close + 1)..];
            return (authority[1..close], after.StartsWith(':') ? ParsePort(after[1..]) : null);
        }

        var colon = authority.LastIndexOf(':');
        return colon < 0 ? (Decode(authority), null) : (Decode(authority[..colon]), ParsePort(authority[(colon + 1)..]));
    }

    private static int? ParsePort(string text)
    {
        if (text.Length == 0) return null;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new ArgumentException($"the port '{text}' is not a number from 1 to 65535");
    }

    /// <summary>The query parameters of libpq that mean something to Npgsql; others are refused by name.</summary>
    private static void Apply(NpgsqlConnectionStringBuilder builder, string key, string value)
    {
        switch (key)
        {
            case "sslmode":
                builder.SslMode = value switch
                {
                    "disable" => SslMode.Disable,
                    "allow" => SslMode.Allow,
                    "prefer" => SslMode.Prefer,
                    "require" => SslMode.Require,
                    "verify-ca" => SslMode.VerifyCA,
                    "verify-full" => SslMode.VerifyFull,
                    _ => throw new ArgumentException(
                        $"sslmode '{value}' is not one of disable, allow, prefer, require, verify-ca, verify-full"),
                };
                break;
            case "sslrootcert":
                builder.RootCertificate = value;
                break;
            case "sslcert":
                builder.SslCertificate = value;
                break;
            case "sslkey":
                builder.SslKey = value;
                break;
            case "host":
                builder.Host = value;
                break;
            case "port":
                builder.Port = ParsePort(value) ?? builder.Port;
                break;
            case "user":
                builder.Username = value;
                break;
            case "dbname":
                builder.Database = value;
                break;
            case "application_name":
                builder.ApplicationName = value;
                break;
            case "connect_timeout":
                builder.Timeout = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                    ? seconds
                    : throw new ArgumentException($"connect_timeout '{value}' is not a number of seconds");
                break;
            default:
                throw new ArgumentException(
                    $"the URL parameter '{key}' is not supported (supported: sslmode, sslrootcert, sslcert, sslkey, host, port, " +
                    "user, dbname, application_name, connect_timeout)");
        }
    }

    private static string Decode(string text) => Uri.UnescapeDataString(text);
}
