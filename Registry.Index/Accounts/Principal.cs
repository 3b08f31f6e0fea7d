namespace Registry.Index.Accounts;

public enum PrincipalKind { Anonymous, User, Token, Bearer, BadCredentials, Throttled }

/// <summary>
/// Who sent a request: nobody, a user proven by Basic credentials, the bearer of a valid signed token
/// (for one repository and one access), the bearer of a valid JWT (<see cref="Grants"/>: exactly the access it
/// carries; <see cref="User"/> its subject), or someone whose credentials were wrong.
/// </summary>
public sealed record Principal(
    PrincipalKind Kind, string? User = null, ParsedToken? Token = null, TimeSpan RetryAfter = default,
    IReadOnlyList<Bearer.ResourceAccess>? Grants = null)
{
    public static readonly Principal Anonymous = new(PrincipalKind.Anonymous);
    public static readonly Principal BadCredentials = new(PrincipalKind.BadCredentials);
}
