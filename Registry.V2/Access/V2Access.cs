using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Core.Names;
using Registry.Index.Accounts;
using Registry.V2.Http;

namespace Registry.V2.Access;

/// <summary>An action of Token Scope Documentation on a repository.</summary>
public enum V2Action { Pull, Push, Delete }

/// <summary>
/// The security issue's accounts and rules applied to v2 requests (Docker Registry v2 Token Authentication Specification): Basic credentials from the
/// htpasswd file or sign-ups, the same owner/admin/public/private rules as V1, answered in v2 form
/// (401 UNAUTHORIZED with a Basic challenge and the required access records, 403 DENIED, 429 TOOMANYREQUESTS).
/// A v2 name maps to the V1 repository of the same logical name (<c>foo</c> is <c>library/foo</c>), so that
/// privacy and ownership are shared by both APIs.
/// </summary>
public sealed class V2Access(AuthSettings auth, Authenticator authenticator, AccessPolicy policy)
{
    public bool Enabled => auth.Enabled;

    /// <summary>The V1 repository whose rules govern a v2 name.</summary>
    public static RepositoryName AccessName(string v2Name) => RepositoryName.FromLogical(v2Name);

    /// <summary><c>GET /v2/</c>: authentication only; anonymous callers are challenged so that docker sends credentials.</summary>
    public async Task<IResult?> CheckAuthenticatedAsync(HttpContext context, CancellationToken ct)
    {
        if (!auth.Enabled) return null;
        var principal = await authenticator.AuthenticateAsync(context, ct);
        return principal.Kind switch
        {
            PrincipalKind.User or PrincipalKind.Token => null,
            PrincipalKind.Throttled => TooMany(context, principal.RetryAfter),
            _ => Unauthorized(context, null),
        };
    }

    /// <summary>Null when the caller may do every action on the repository; otherwise the error to answer.</summary>
    public async Task<IResult?> CheckRepositoryAsync(HttpContext context, string name, IReadOnlyList<V2Action> actions, CancellationToken ct)
    {
        if (!auth.Enabled) return null;
        var principal = await authenticator.AuthenticateAsync(context, ct);
        var records = actions.Select(a => Record("repository", name, a.ToString().ToLowerInvariant())).ToArray();
        if (principal.Kind == PrincipalKind.Throttled) return TooMany(context, principal.RetryAfter);
        if (principal.Kind == PrincipalKind.BadCredentials) return Unauthorized(context, records);
        foreach (var action in actions)
        {
            var decision = await policy.DecideRepositoryAsync(principal, AccessName(name), KindOf(action), ct);
            if (decision.Allowed) continue;
            return decision.Status == 401 ? Unauthorized(context, records) : V2Results.Error(V2ErrorCode.Denied);
        }
        return null;
    }

    /// <summary><c>GET /v2/_catalog</c> needs an authenticated caller when auth is on (access <c>registry:catalog:*</c>).</summary>
    public async Task<IResult?> CheckCatalogAsync(HttpContext context, CancellationToken ct)
    {
        if (!auth.Enabled) return null;
        var principal = await authenticator.AuthenticateAsync(context, ct);
        return principal.Kind switch
        {
            PrincipalKind.User or PrincipalKind.Token => null,
            PrincipalKind.Throttled => TooMany(context, principal.RetryAfter),
            PrincipalKind.Anonymous when auth.AnonymousRead => null,
            _ => Unauthorized(context, new[] { Record("registry", "catalog", "*") }),
        };
    }

    /// <summary>True when the caller may pull the repository (mount sources, catalog and search visibility).</summary>
    public async Task<bool> CanPullAsync(HttpContext context, string name, CancellationToken ct)
    {
        if (!auth.Enabled) return true;
        var principal = await authenticator.AuthenticateAsync(context, ct);
        if (principal.Kind is PrincipalKind.Throttled or PrincipalKind.BadCredentials) return false;
        return (await policy.DecideRepositoryAsync(principal, AccessName(name), AccessKind.Read, ct)).Allowed;
    }

    private static AccessKind KindOf(V2Action action) => action switch
    {
        V2Action.Pull => AccessKind.Read,
        V2Action.Push => AccessKind.Write,
        _ => AccessKind.Delete,
    };

    /// <summary>An access record as distribution serializes it in the UNAUTHORIZED detail (Docker Registry HTTP API V2, 'Errors').</summary>
    private static Dictionary<string, string> Record(string type, string name, string action) =>
        new() { ["Type"] = type, ["Class"] = "", ["Name"] = name, ["Action"] = action };

    private IResult Unauthorized(HttpContext context, object? detail)
    {
        context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{auth.Realm}\"";
        return V2Results.Error(V2ErrorCode.Unauthorized, detail);
    }

    private static IResult TooMany(HttpContext context, TimeSpan? retryAfter)
    {
        if (retryAfter is { } retry)
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return V2Results.Error(V2ErrorCode.TooManyRequests);
    }
}
