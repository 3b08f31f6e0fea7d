namespace Registry.Index.Accounts;

public enum PrincipalKind { Anonymous, User, Token, BadCredentials, Throttled }

/// <summary>
/// Who sent a request: nobody, a user proven by Basic credentials, the bearer of a valid signed token
/// (for one repository and one access), or someone whose credentials were wrong. <see cref="IndexImages"/> is set for
/// a token that <c>index_endpoint</c> confirmed: the image ids of its repository as the index listed them then.
/// </summary>
public sealed record Principal(
    PrincipalKind Kind, string? User = null, ParsedToken? Token = null, TimeSpan RetryAfter = default, IReadOnlySet<string>? IndexImages = null)
{
    public static readonly Principal Anonymous = new(PrincipalKind.Anonymous);
    public static readonly Principal BadCredentials = new(PrincipalKind.BadCredentials);
}
