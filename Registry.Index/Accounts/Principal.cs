namespace Registry.Index.Accounts;

public enum PrincipalKind { Anonymous, User, Token, Bearer, BadCredentials, Throttled }

/// <summary>
/// Who sent a request: nobody, a user proven by Basic credentials, the bearer of a valid signed token
/// (for one repository and one access), the bearer of a valid JWT (<see cref="Grants"/>: exactly the access it
/// carries; <see cref="User"/> its subject), or someone whose credentials were wrong. A user who logged in with an
/// access token has its <see cref="Scopes"/>: they act as that user, but only within those scopes, and never as an admin.
/// <see cref="DirectoryAdmin"/>: the LDAP directory lists the user in its admin group. <see cref="IndexImages"/> is set
/// for a token that <c>index_endpoint</c> confirmed: the image ids of its repository as the index listed them then.
/// </summary>
public sealed record Principal(
    PrincipalKind Kind, string? User = null, ParsedToken? Token = null, TimeSpan RetryAfter = default,
    IReadOnlyList<AccessTokenScope>? Scopes = null, bool DirectoryAdmin = false, IReadOnlySet<string>? IndexImages = null,
    IReadOnlyList<Bearer.ResourceAccess>? Grants = null)
{
    /// <summary>True for a user who logged in with an access token rather than their password.</summary>
    public bool IsRestricted => Scopes is not null;

    public static readonly Principal Anonymous = new(PrincipalKind.Anonymous);
    public static readonly Principal BadCredentials = new(PrincipalKind.BadCredentials);
}
