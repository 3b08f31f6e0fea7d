using System.DirectoryServices.Protocols;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Registry.Core.Configuration;

namespace Registry.Index.Accounts;

/// <summary>The outcome of checking a login against the directory.</summary>
public enum DirectoryLogin { Invalid, User, Admin }

/// <summary>
/// Logins of <c>auth.backend: ldap</c> (docs/configuration.md, 'LDAP'): the user's DN from the bind template or a
/// search, then a simple bind with that DN and the password; membership of the admin group (<c>member</c>,
/// <c>uniqueMember</c> or <c>memberUid</c>) makes an admin. A directory that cannot be reached throws
/// <see cref="DirectoryUnavailableException"/>.
/// </summary>
public sealed class LdapDirectory(LdapSettings settings, ILogger<LdapDirectory> logger) : IDisposable
{
    // RFC 4511, 'Result Message' (resultCode): the ones that mean the login (not the server) is wrong.
    private const int InvalidCredentials = 49;
    private const int NoSuchObject = 32;
    private const int InvalidDnSyntax = 34;
    private const int InappropriateAuthentication = 48;
    private const int InsufficientAccessRights = 50;
    private const int UnwillingToPerform = 53;

    private readonly Lazy<string?> _caDirectory = new(() => CaDirectory(settings.CaFile));

    /// <summary>Checks the login; the bind is blocking in the native library, so it runs off the request's thread.</summary>
    public Task<DirectoryLogin> CheckAsync(string username, string password, CancellationToken ct)
    {
        // An empty password is an unauthenticated bind (RFC 4513, 'Unauthenticated Authentication Mechanism'),
        // which servers accept for any DN: it must never reach the directory.
        if (password.Length == 0 || username.Length == 0) return Task.FromResult(DirectoryLogin.Invalid);
        return Task.Run(() => Check(username, password), ct);
    }

    private DirectoryLogin Check(string username, string password)
    {
        try
        {
            using var connection = Connect();
            string dn;
            if (settings.BindDn is { } template)
            {
                dn = template.Replace(LdapSettings.UsernamePlaceholder, EscapeDnValue(username), StringComparison.Ordinal);
            }
            else
            {
                if (settings.SearchBindDn is { } searchDn) connection.Bind(new NetworkCredential(searchDn, settings.SearchBindPassword));
                else connection.Bind(new NetworkCredential("", ""));
                var filter = settings.SearchFilter.Replace(LdapSettings.UsernamePlaceholder, EscapeFilterValue(username), StringComparison.Ordinal);
                var found = (SearchResponse)connection.SendRequest(
                    new SearchRequest(settings.SearchBase, filter, SearchScope.Subtree, "1.1") { SizeLimit = 2 }, settings.Timeout);
                if (found.Entries.Count != 1) return DirectoryLogin.Invalid;
                dn = found.Entries[0].DistinguishedName;
            }

            connection.Bind(new NetworkCredential(dn, password));
            return settings.AdminGroup is { } group && IsMember(connection, group, dn, username) ? DirectoryLogin.Admin : DirectoryLogin.User;
        }
        catch (LdapException e) when (e.ErrorCode is InvalidCredentials or NoSuchObject or InvalidDnSyntax or InappropriateAuthentication
                                          or InsufficientAccessRights or UnwillingToPerform)
        {
            return DirectoryLogin.Invalid;
        }
        catch (DirectoryOperationException e) when (e.Response?.ResultCode is ResultCode.NoSuchObject or ResultCode.SizeLimitExceeded)
        {
            // The search base does not exist, or the filter matched several entries: no one user to log in as.
            return DirectoryLogin.Invalid;
        }
        catch (Exception e) when (e is LdapException or DirectoryException)
        {
            logger.LogWarning("LDAP directory {Url} unavailable: {Message}", settings.Url, e.Message);
            throw new DirectoryUnavailableException($"LDAP directory {settings.Url} unavailable: {e.Message}", e);
        }
    }

    private bool IsMember(LdapConnection connection, string group, string dn, string username)
    {
        var filter = $"(|(member={EscapeFilterValue(dn)})(uniqueMember={EscapeFilterValue(dn)})(memberUid={EscapeFilterValue(username)}))";
        try
        {
            var response = (SearchResponse)connection.SendRequest(new SearchRequest(group, filter, SearchScope.Base, "1.1"), settings.Timeout);
            return response.Entries.Count > 0;
        }
        catch (DirectoryOperationException e) when (e.Response?.ResultCode == ResultCode.NoSuchObject)
        {
            logger.LogWarning("LDAP admin group {Group} does not exist", group);
            return false;
        }
    }

    private LdapConnection Connect()
    {
        var port = settings.Url.IsDefaultPort || settings.Url.Port <= 0 ? settings.Ldaps ? 636 : 389 : settings.Url.Port;
        var connection = new LdapConnection(new LdapDirectoryIdentifier(settings.Url.Host, port)) { AuthType = AuthType.Basic, Timeout = settings.Timeout };
        try
        {
            connection.SessionOptions.ProtocolVersion = 3;
            connection.SessionOptions.ReferralChasing = ReferralChasingOptions.None;
            // Windows' LDAP client trusts the machine's certificate store only; ca_file applies to libldap (Linux, macOS).
            if (!OperatingSystem.IsWindows() && _caDirectory.Value is { } directory)
            {
                connection.SessionOptions.TrustedCertificatesDirectory = directory;
                connection.SessionOptions.StartNewTlsSessionContext();
            }
            if (settings.Ldaps) connection.SessionOptions.SecureSocketLayer = true;
            if (settings.StartTls)
            {
                // On Linux the connection is only opened by its first operation, and StartTLS needs an open one: an
                // anonymous bind (no secret) opens it, then TLS starts before any credentials are sent.
                connection.Bind(new NetworkCredential("", ""));
                connection.SessionOptions.StartTransportLayerSecurity(null);
            }
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// libldap takes trusted certificates from a directory, not a file: the CA file is copied into a private one
    /// (Debian's libldap uses GnuTLS, which reads every file of the directory).
    /// </summary>
    private static string? CaDirectory(string? caFile)
    {
        if (caFile is null) return null;
        var directory = Directory.CreateTempSubdirectory("registry-ldap-ca-").FullName;
        File.Copy(caFile, Path.Combine(directory, "ca.pem"));
        return directory;
    }

    /// <summary>Escapes an attribute value for a DN string (RFC 4514, 'Converting an AttributeValue from ASN.1 to a String').</summary>
    public static string EscapeDnValue(string value)
    {
        var text = new StringBuilder(value.Length + 8);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c is ',' or '+' or '"' or '\\' or '<' or '>' or ';' or '=' || (i == 0 && c is ' ' or '#') || (i == value.Length - 1 && c == ' '))
                text.Append('\\').Append(c);
            else if (c < 0x20 || c == 0x7f)
                text.Append('\\').Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            else
                text.Append(c);
        }
        return text.ToString();
    }

    /// <summary>Escapes a value for a search filter (RFC 4515, 'String Search Filter Definition'): <c>* ( ) \ NUL</c> as <c>\XX</c>.</summary>
    public static string EscapeFilterValue(string value)
    {
        var text = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (c is '*' or '(' or ')' or '\\' or '\0') text.Append('\\').Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            else text.Append(c);
        }
        return text.ToString();
    }

    public void Dispose()
    {
        if (_caDirectory.IsValueCreated && _caDirectory.Value is { } directory) Directory.Delete(directory, recursive: true);
    }
}
