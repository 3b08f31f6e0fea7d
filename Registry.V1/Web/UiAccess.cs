using Registry.Core.Configuration;
using Registry.Core.Names;
using Registry.Index.Accounts;
using Registry.V1.Repositories;
using Registry.V2.Manifests;

namespace Registry.V1.Web;

public enum UiDeleteResult { Deleted, NotFound }

/// <summary>
/// What the web interface lets its user do to a repository, decided by the registry's own <see cref="AccessPolicy"/>
/// for the session's user, and the deletions it performs through the protocols' own services. Without
/// authentication everyone reads; deleting then follows the API's rule (standalone or <c>disable_token_auth</c>
/// registries let everyone write). Deleting is offered only when <c>storage_delete_enabled</c> is on.
/// </summary>
public sealed class UiAccess(RegistrySettings settings, AuthSettings auth, AccessPolicy policy, RepositoryService v1, ManifestStore v2)
{
    public bool AuthEnabled => auth.Enabled;

    public async Task<bool> CanAsync(UiSession session, RepositoryName name, AccessKind access, CancellationToken ct)
    {
        if (access == AccessKind.Delete && !settings.StorageDeleteEnabled) return false;
        if (!auth.Enabled) return access == AccessKind.Read || settings.Standalone || settings.DisableTokenAuth;
        return (await policy.DecideRepositoryAsync(session.Principal, name, access, ct)).Allowed;
    }

    public bool IsAdmin(UiSession session) => auth.Enabled && policy.IsAdmin(session.Principal);

    /// <summary>Deletes one tag: a v2 tag link (the manifest stays) or a V1 tag file.</summary>
    public async Task<UiDeleteResult> DeleteTagAsync(RepositoryName name, string tag, bool isV2, CancellationToken ct)
    {
        var deleted = isV2 ? await v2.DeleteTagAsync(name.FullName, tag, ct) : await v1.DeleteTagAsync(name, tag, ct);
        return deleted ? UiDeleteResult.Deleted : UiDeleteResult.NotFound;
    }

    /// <summary>
    /// Deletes the whole repository: every v2 manifest revision (and with it every tag) and the V1 repository
    /// directory. Blobs and images stay for the garbage collector, as after the API's deletes.
    /// </summary>
    public async Task<UiDeleteResult> DeleteRepositoryAsync(RepositoryName name, CancellationToken ct)
    {
        var any = false;
        var revisions = new List<Registry.Core.Distribution.Digest>();
        await foreach (var manifest in v2.ListRevisionsAsync(name.FullName, ct)) revisions.Add(manifest.Digest);
        foreach (var digest in revisions) any |= await v2.DeleteManifestAsync(name.FullName, digest, ct) is not null;
        foreach (var tag in await v2.ListTagsAsync(name.FullName, ct) ?? []) any |= await v2.DeleteTagAsync(name.FullName, tag, ct);
        any |= await v1.DeleteRepositoryAsync(name, ct);
        return any ? UiDeleteResult.Deleted : UiDeleteResult.NotFound;
    }
}
