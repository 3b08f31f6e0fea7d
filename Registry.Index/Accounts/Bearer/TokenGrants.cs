using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.Core.Names;

namespace Registry.Index.Accounts.Bearer;

/// <summary>
/// What the token server grants: the intersection of the requested scopes and what <see cref="AccessPolicy"/>
/// allows the authenticated principal, asked action by action so that every rule of the policy applies. A scope
/// that is not granted, or names a resource we do not serve (a <c>host:port/…</c> name, an unknown type), is left
/// out rather than refused (Docker Registry v2 Token Authentication Specification, 'Requesting a Token').
/// </summary>
public sealed class TokenGrants(AccessPolicy policy, AuthSettings auth)
{
    private static readonly (string Action, AccessKind Kind)[] RepositoryActions =
        [("pull", AccessKind.Read), ("push", AccessKind.Write), ("delete", AccessKind.Delete)];

    public async Task<IReadOnlyList<ResourceAccess>> GrantAsync(Principal principal, IReadOnlyList<ResourceAccess> requested, CancellationToken ct)
    {
        var granted = new List<ResourceAccess>();
        foreach (var scope in ResourceAccess.Merge(requested))
        {
            if (scope is { Type: ResourceAccess.Registry, Name: "catalog" } && scope.Actions.Contains("*") && MayListCatalog(principal))
                granted.Add(new ResourceAccess(ResourceAccess.Registry, "catalog", ["*"]));
            if (scope.Type != ResourceAccess.Repository || !DistributionName.IsValid(scope.Name)) continue;

            var repository = RepositoryName.FromLogical(scope.Name);
            var wanted = scope.Actions.Contains("*") ? RepositoryActions.Select(a => a.Action).ToArray() : scope.Actions;
            var actions = new List<string>();
            foreach (var (action, kind) in RepositoryActions)
                if (wanted.Contains(action) && (await policy.DecideRepositoryAsync(principal, repository, kind, ct)).Allowed)
                    actions.Add(action);
            if (actions.Count > 0) granted.Add(new ResourceAccess(ResourceAccess.Repository, scope.Name, actions));
        }
        return granted;
    }

    /// <summary>The catalog rule of basic auth: any authenticated user, and anonymous clients when <c>anonymous_read</c>.</summary>
    private bool MayListCatalog(Principal principal) =>
        principal.Kind == PrincipalKind.User || (principal.Kind == PrincipalKind.Anonymous && auth.AnonymousRead);
}
