using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Core.Names;
using Registry.Index.Accounts;
using Registry.Index.Accounts.Bearer;
using Registry.V2.Http;

namespace Registry.V2.Access;

/// <summary>An action of Token Scope Documentation on a repository.</summary>
public enum V2Action { Pull, Push, Delete }

/// <summary>
/// The security issue's accounts and rules applied to v2 requests (Docker Registry v2 Token Authentication Specification): Basic credentials from the
/// htpasswd file or sign-ups, the same owner/admin/public/private rules as V1, answered in v2 form
/// (401 UNAUTHORIZED with a challenge and the required access records, 403 DENIED, 429 TOOMANYREQUESTS).
/// A v2 name maps to the V1 repository of the same logical name (<c>foo</c> is <c>library/foo</c>), so that
/// privacy and ownership are shared by both APIs. With a token server (ours or an external one) the challenge is
/// <c>Bearer realm=…,service=…,scope=…</c>, and a valid token that lacks the access gets
/// <c>error="insufficient_scope"</c>.
/// </summary>
public sealed class V2Access(AuthSettings auth, Authenticator authenticator, AccessPolicy policy)
{
    public bool Enabled => auth.Enabled;

    /// <summary>The V1 repository whose rules govern a v2 name.</summary>
    public static RepositoryName AccessName(string v2Name) => RepositoryName.FromLogical(v2Name);

    /// <summary><c>GET /v2/</c>: authentication only (any valid token, even one granting nothing); anonymous callers are challenged so that docker sends credentials.</summary>
    public async Task<IResult?> CheckAuthenticatedAsync(HttpContext context, CancellationToken ct)
    {
        if (!auth.Enabled) return null;
        var principal = await authenticator.AuthenticateAsync(context, ct);
        return principal.Kind switch
        {
            PrincipalKind.User or PrincipalKind.Token or PrincipalKind.Bearer => null,
            PrincipalKind.Throttled => TooMany(context, principal.RetryAfter),
            _ => Unauthorized(context, principal, null, null),
        };
    }

    /// <summary>Null when the caller may do every action on the repository; otherwise the error to answer.</summary>
    public async Task<IResult?> CheckRepositoryAsync(HttpContext context, string name, IReadOnlyList<V2Action> actions, CancellationToken ct)
    {
        if (!auth.Enabled) return null;
        var principal = await authenticator.AuthenticateAsync(context, ct);
        var names = actions.Select(a => a.ToString().ToLowerInvariant()).ToArray();
        var records = names.Select(a => Record("repository", name, a)).ToArray();
        var scope = new ResourceAccess(ResourceAccess.Repository, name, names);
        if (principal.Kind == PrincipalKind.Throttled) return TooMany(context, principal.RetryAfter);
        if (principal.Kind == PrincipalKind.BadCredentials) return Unauthorized(context, principal, records, scope);
        foreach (var action in actions)
        {
            var decision = await policy.DecideRepositoryAsync(principal, AccessName(name), KindOf(action), ct);
            if (decision.Allowed) continue;
            return decision.Status == 401 || principal.Kind == PrincipalKind.Bearer
                ? Unauthorized(context, principal, records, scope)
                : V2Results.Error(V2ErrorCode.Denied);
        }
        return null;
    }

    /// <summary>
    /// <c>GET /v2/_catalog</c> needs an authenticated caller when auth is on (access <c>registry:catalog:*</c>), or
    /// anonymous ones with <c>anonymous_read</c>; a Bearer token needs that access in its claim.
    /// </summary>
    public async Task<IResult?> CheckCatalogAsync(HttpContext context, CancellationToken ct)
    {
        if (!auth.Enabled) return null;
        var principal = await authenticator.AuthenticateAsync(context, ct);
        var scope = new ResourceAccess(ResourceAccess.Registry, "catalog", ["*"]);
        return principal.Kind switch
        {
            PrincipalKind.User or PrincipalKind.Token => null,
            PrincipalKind.Bearer when GrantsCatalog(principal) => null,
            PrincipalKind.Throttled => TooMany(context, principal.RetryAfter),
            PrincipalKind.Anonymous when auth.AnonymousRead => null,
            _ => Unauthorized(context, principal, new[] { Record("registry", "catalog", "*") }, scope),
        };
    }

    /// <summary>True when the caller may pull the repository (mount sources, search visibility).</summary>
    public async Task<bool> CanPullAsync(HttpContext context, string name, CancellationToken ct)
    {
        if (!auth.Enabled) return true;
        var principal = await authenticator.AuthenticateAsync(context, ct);
        if (principal.Kind is PrincipalKind.Throttled or PrincipalKind.BadCredentials) return false;
        return (await policy.DecideRepositoryAsync(principal, AccessName(name), AccessKind.Read, ct)).Allowed;
    }

    /// <summary>
    /// True when the catalog shows the repository to the caller: what they may pull. A Bearer token's access claim
    /// names the catalog, not each repository, so the catalog shows what its subject may pull under our rules.
    /// </summary>
    public async Task<bool> CanListAsync(HttpContext context, string name, CancellationToken ct)
    {
        if (!auth.Enabled) return true;
        var principal = await authenticator.AuthenticateAsync(context, ct);
        if (principal.Kind == PrincipalKind.Bearer)
            principal = principal.User is { } user && auth.Token.External is null ? new Principal(PrincipalKind.User, user) : Principal.Anonymous;
        if (principal.Kind is PrincipalKind.Throttled or PrincipalKind.BadCredentials) return false;
        return (await policy.DecideRepositoryAsync(principal, AccessName(name), AccessKind.Read, ct)).Allowed;
    }

    private static bool GrantsCatalog(Principal principal) =>
        (principal.Grants ?? []).Any(g => g is { Type: ResourceAccess.Registry, Name: "catalog" } && g.Actions.Contains("*"));

    private static AccessKind KindOf(V2Action action) => action switch
    {
        V2Action.Pull => AccessKind.Read,
        V2Action.Push => AccessKind.Write,
        _ => AccessKind.Delete,
    };

    /// <summary>An access record as distribution serializes it in the UNAUTHORIZED detail (Docker Registry HTTP API V2, 'Errors').</summary>
    private static Dictionary<string, string> Record(string type, string name, string action) =>
        new() { ["Type"] = type, ["Class"] = "", ["Name"] = name, ["Action"] = action };

    private IResult Unauthorized(HttpContext context, Principal principal, object? detail, ResourceAccess? scope)
    {
        context.Response.Headers.WWWAuthenticate = auth.Bearer ? BearerChallenge(context, principal, scope) : $"Basic realm=\"{auth.Realm}\"";
        return V2Results.Error(V2ErrorCode.Unauthorized, detail);
    }

    /// <summary>
    /// The challenge of Docker Registry v2 Token Authentication Specification, 'How to authenticate', in the order
    /// distribution writes it. Our realm is the token endpoint at the scheme and host the client used (behind a proxy:
    /// X-Forwarded-Proto and X-Forwarded-Host, as distribution builds its URLs).
    /// </summary>
    private string BearerChallenge(HttpContext context, Principal principal, ResourceAccess? scope)
    {
        var realm = auth.Token.External?.Realm ?? Core.Notifications.Notifier.BaseUrl(context) + Token.TokenModule.Path;
        var challenge = $"Bearer realm=\"{Quote(realm)}\",service=\"{Quote(auth.Token.Service)}\"";
        if (scope is not null) challenge += $",scope=\"{Quote(scope.ToString())}\"";
        var error = principal.Kind switch
        {
            PrincipalKind.Bearer => "insufficient_scope",
            PrincipalKind.BadCredentials when context.Request.Headers.Authorization.ToString().TrimStart().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) => "invalid_token",
            _ => null,
        };
        return error is null ? challenge : challenge + $",error=\"{error}\"";
    }

    private static string Quote(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    private static IResult TooMany(HttpContext context, TimeSpan? retryAfter)
    {
        if (retryAfter is { } retry)
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return V2Results.Error(V2ErrorCode.TooManyRequests);
    }
}
