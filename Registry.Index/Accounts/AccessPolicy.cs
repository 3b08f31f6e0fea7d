using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.Core.Http;
using Registry.Core.Names;
using Registry.Core.Storage;

using Registry.Index.Accounts.Bearer;

namespace Registry.Index.Accounts;

public enum AccessKind { Read, Write, Delete }

/// <summary>
/// Who may do what (issue: accounts and access rules). Without authentication the original's gate applies:
/// standalone or <c>disable_token_auth</c> registries pass everything, index-backed ones require a token.
/// With authentication: admins may do anything; a user may write and delete in the namespace named after
/// them; everyone authenticated (and anonymous users when <c>anonymous_read</c>) may read public
/// repositories; private repositories are readable by their owner and admins only. A signed token grants
/// its one access (write also reads) on its one repository and that repository's images. A Bearer token grants
/// exactly the actions of its <c>access</c> claim, on v2 names mapped to V1 repositories (<c>foo</c> is
/// <c>library/foo</c>), and the images listed by those repositories.
/// Missing or wrong credentials are 401 with a challenge; valid but insufficient ones are 403. A registry of a split
/// deployment (<c>standalone: false</c>, <c>index_endpoint</c>) has the tokens it did not sign confirmed by the index
/// (<see cref="IndexTokenValidator"/>); requests the index signed (<see cref="PrivilegedSignature"/>) pass.
/// </summary>
public sealed class AccessPolicy(
    RegistrySettings settings, AuthSettings auth, Authenticator authenticator, IStorageDriver storage, IRepositoryImages images,
    IndexTokenValidator index, PrivilegedSignature privileged) : IAccessPolicy
{
    public async ValueTask<AccessDecision> AuthorizeAsync(HttpContext context, CancellationToken ct)
    {
        // The original's requires_auth: a request signed by the index passes whatever else it carries.
        switch (privileged.Check(context))
        {
            case SignatureCheck.Valid: return AccessDecision.Allow;
            case SignatureCheck.Invalid: return new AccessDecision(401, "Invalid X-Signature", "Token");
        }
        if (!auth.Enabled && (settings.Standalone || settings.DisableTokenAuth)) return AccessDecision.Allow;

        var remote = await index.ValidateAsync(context, ct);
        if (remote?.Refusal is { } refusal) return refusal;
        if (remote is null && !auth.Enabled) return new AccessDecision(401, AccessGate.RequiresAuthorization, "Token");
        var principal = remote?.Principal ?? await authenticator.AuthenticateAsync(context, ct);
        if (principal.Kind == PrincipalKind.Throttled)
            return new AccessDecision(429, "Too many failed logins from this address, retry later", RetryAfter: principal.RetryAfter);
        if (principal.Kind == PrincipalKind.BadCredentials) return Unauthenticated("Invalid credentials");

        var access = ActionOf(context.Request.Method);
        var route = RepositoryRoutes.Get(context);
        // A repository's webhooks, even their list, are its owner's: the URLs may carry secrets.
        if (route is { Kind: RepositoryRouteKind.Webhooks or RepositoryRouteKind.Webhook }) access = AccessKind.Write;
        if (route is { Name: { } repository }) return await DecideRepositoryAsync(principal, repository, access, ct);
        if (context.GetRouteValue("imageId") is string imageId) return await DecideImageAsync(principal, imageId, access, ct);
        return AccessDecision.Allow;
    }

    /// <summary>
    /// Who may run a garbage collection (<c>POST /v1/_gc</c>). With authentication only admins (401 with a challenge
    /// without or with bad credentials, 403 for others); without it, only clients on a loopback address (403): an
    /// open registry must not let the network delete its data.
    /// </summary>
    public async Task<AccessDecision> AuthorizeGcAsync(HttpContext context, CancellationToken ct)
    {
        if (!auth.Enabled)
            return context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address)
                ? AccessDecision.Allow
                : Forbidden("Garbage collection is only allowed from the local host when authentication is off");
        var principal = await authenticator.AuthenticateAsync(context, ct);
        return principal.Kind switch
        {
            PrincipalKind.Throttled => new AccessDecision(429, "Too many failed logins from this address, retry later", RetryAfter: principal.RetryAfter),
            PrincipalKind.BadCredentials => Unauthenticated("Invalid credentials"),
            PrincipalKind.Anonymous => Unauthenticated("Authentication required"),
            _ when IsAdmin(principal) => AccessDecision.Allow,
            _ => Forbidden("Garbage collection is for admins only"),
        };
    }

    /// <summary>True when the principal may read the repository (search visibility, private checks).</summary>
    public async Task<bool> CanReadAsync(Principal principal, RepositoryName repository, CancellationToken ct) =>
        (await DecideRepositoryAsync(principal, repository, AccessKind.Read, ct)).Allowed;

    /// <summary>
    /// An admin is a user of <c>auth.admins</c> or of the LDAP admin group who logged in with their password: an access
    /// token never carries admin rights.
    /// </summary>
    public bool IsAdmin(Principal principal) =>
        principal.User is { } user && (auth.Admins.Contains(user) || principal.DirectoryAdmin)
        && principal.Kind == PrincipalKind.User && !principal.IsRestricted;

    /// <summary>The rules above for one repository and access, for an already authenticated principal.</summary>
    public async Task<AccessDecision> DecideRepositoryAsync(Principal principal, RepositoryName repository, AccessKind access, CancellationToken ct)
    {
        if (IsAdmin(principal)) return AccessDecision.Allow;
        if (principal.Kind == PrincipalKind.Bearer)
            return BearerGrants(principal, repository, access) ? AccessDecision.Allow : Forbidden($"Token does not grant {BearerAction(access)} on {repository.FullName}");
        // An access token narrows what its user may do; the user's own rights below still apply.
        if (principal.Scopes is { } scopes && !AccessTokenScope.Allows(scopes, repository, access))
            return Forbidden($"Access token does not grant {AccessTokenScope.ActionOf(access)} on {repository.FullName}");
        if (principal.Kind == PrincipalKind.Token)
        {
            var token = principal.Token!;
            if (token.Repository != repository.FullName) return Forbidden("Token is for another repository");
            return Grants(token.Access, access) ? AccessDecision.Allow : Forbidden($"Token does not grant {access.ToString().ToLowerInvariant()} access");
        }

        var owner = principal.User is { } user && user == repository.Namespace;
        if (access != AccessKind.Read)
        {
            if (owner) return AccessDecision.Allow;
            return principal.Kind == PrincipalKind.Anonymous ? Unauthenticated("Authentication required to write") : Forbidden("Access denied");
        }
        if (owner) return AccessDecision.Allow;
        var isPrivate = await storage.ExistsAsync(StoragePaths.Private(repository), ct);
        if (principal.Kind == PrincipalKind.Anonymous)
            return auth.AnonymousRead && !isPrivate ? AccessDecision.Allow : Unauthenticated("Authentication required");
        return isPrivate ? Forbidden("Access denied") : AccessDecision.Allow;
    }

    private async Task<AccessDecision> DecideImageAsync(Principal principal, string imageId, AccessKind access, CancellationToken ct)
    {
        if (IsAdmin(principal)) return AccessDecision.Allow;
        if (principal.Kind == PrincipalKind.Token)
        {
            var token = principal.Token!;
            if (!Grants(token.Access, access)) return Forbidden($"Token does not grant {access.ToString().ToLowerInvariant()} access");
            // A token the index confirmed reaches the images the index listed for its repository (the original's _images_list).
            var member = principal.IndexImages is { } listed ? listed.Contains(imageId) : await images.ContainsAsync(token.Repository, imageId, ct);
            return member ? AccessDecision.Allow : Forbidden("Image is not part of the token's repository");
        }
        if (principal.Kind == PrincipalKind.Bearer)
        {
            foreach (var holder in await images.RepositoriesOfAsync(imageId, ct))
                if (BearerGrants(principal, RepositoryName.FromLogical(holder), access)) return AccessDecision.Allow;
            return Forbidden("Image is not part of a repository the token grants");
        }
        // V1 image routes name no repository: an access token needs the action on at least one repository.
        if (principal.Scopes is { } scopes && !AccessTokenScope.AllowsAnywhere(scopes, access))
            return Forbidden($"Access token does not grant {AccessTokenScope.ActionOf(access)}");
        if (access != AccessKind.Read)
            return principal.Kind == PrincipalKind.User ? AccessDecision.Allow : Unauthenticated("Authentication required to write");

        var holders = await images.RepositoriesOfAsync(imageId, ct);
        if (holders.Count == 0)
            return principal.Kind == PrincipalKind.User || auth.AnonymousRead ? AccessDecision.Allow : Unauthenticated("Authentication required");
        foreach (var holder in holders)
            if ((await DecideRepositoryAsync(principal, RepositoryName.FromLogical(holder), AccessKind.Read, ct)).Allowed)
                return AccessDecision.Allow;
        // Do not confirm that an image of a private repository exists.
        return principal.Kind == PrincipalKind.Anonymous ? Unauthenticated("Authentication required") : new AccessDecision(404, "Image not found");
    }

    private static bool Grants(string tokenAccess, AccessKind access) => (tokenAccess, access) switch
    {
        ("read", AccessKind.Read) => true,
        ("write", AccessKind.Read or AccessKind.Write) => true,
        ("delete", AccessKind.Delete) => true,
        _ => false,
    };

    /// <summary>True when a Bearer token's access claim holds the action (or <c>*</c>) on a name that maps to <paramref name="repository"/>.</summary>
    private static bool BearerGrants(Principal principal, RepositoryName repository, AccessKind access)
    {
        var action = BearerAction(access);
        return (principal.Grants ?? []).Any(g =>
            g.Type == ResourceAccess.Repository && DistributionName.IsValid(g.Name)
            && RepositoryName.FromLogical(g.Name).FullName == repository.FullName
            && g.Actions.Any(a => a == action || a == "*"));
    }

    private static string BearerAction(AccessKind access) => access switch
    {
        AccessKind.Read => "pull",
        AccessKind.Write => "push",
        _ => "delete",
    };

    private static AccessKind ActionOf(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? AccessKind.Read
        : HttpMethods.IsDelete(method) ? AccessKind.Delete
        : AccessKind.Write;

    private AccessDecision Unauthenticated(string message) => new(401, message, $"Basic realm=\"{auth.Realm}\"");

    private static AccessDecision Forbidden(string message) => new(403, message);
}
