namespace Registry.Index.Accounts;

/// <summary>
/// The LDAP directory of <c>auth.backend: ldap</c> cannot be reached right now (down, refusing, too slow). The
/// credentials are not at fault and a retry may succeed: the host answers 503 with <c>Retry-After</c>, never a 401
/// that would tell the client its password is wrong.
/// </summary>
public sealed class DirectoryUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);
