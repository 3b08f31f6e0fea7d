using System.Text.Json.Serialization;
using Registry.Core.Names;

namespace Registry.Index.Accounts;

/// <summary>
/// What an access token may touch: one repository (<c>alice/app</c>) or every repository of a namespace
/// (<c>alice/*</c>), and the actions on it (<c>pull</c>, <c>push</c>, <c>delete</c>, as in the docker token
/// authentication spec's scopes). A token holds several; the owner's own rights still apply on top.
/// </summary>
public sealed record AccessTokenScope(
    [property: JsonPropertyName("repository")] string Repository,
    [property: JsonPropertyName("actions")] IReadOnlyList<string> Actions)
{
    public const string Pull = "pull";
    public const string Push = "push";
    public const string Delete = "delete";
    public static readonly IReadOnlyList<string> KnownActions = [Pull, Push, Delete];

    /// <summary>True when one of <paramref name="scopes"/> grants <paramref name="access"/> on <paramref name="repository"/>.</summary>
    public static bool Allows(IReadOnlyList<AccessTokenScope> scopes, RepositoryName repository, AccessKind access) =>
        scopes.Any(s => s.Matches(repository) && s.Actions.Contains(ActionOf(access)));

    /// <summary>True when some scope grants <paramref name="access"/> on some repository (V1 image routes name no repository).</summary>
    public static bool AllowsAnywhere(IReadOnlyList<AccessTokenScope> scopes, AccessKind access) =>
        scopes.Any(s => s.Actions.Contains(ActionOf(access)));

    /// <summary>The scope action that an access needs: reading is pulling, writing is pushing.</summary>
    public static string ActionOf(AccessKind access) => access switch
    {
        AccessKind.Read => Pull,
        AccessKind.Write => Push,
        _ => Delete,
    };

    /// <summary>
    /// Parses a scope's repository as a user wrote it: <c>ns/*</c>, or a name that the implicit <c>library</c>
    /// namespace completes (<c>ubuntu</c> is <c>library/ubuntu</c>). Null when it is neither.
    /// </summary>
    public static string? NormalizeRepository(string? repository)
    {
        if (repository is null || repository.Length is 0 or > 2 * RepositoryName.MaxComponentBytes) return null;
        if (repository.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) || repository.StartsWith('/') || repository.EndsWith('/')) return null;
        if (repository.EndsWith("/*", StringComparison.Ordinal))
        {
            var ns = repository[..^2];
            return ns.Length > 0 && !ns.Contains('/') && !ns.Contains('*') ? repository : null;
        }
        if (repository.Contains('*') || repository.Contains("//", StringComparison.Ordinal)) return null;
        return RepositoryName.FromLogical(repository).FullName;
    }

    private bool Matches(RepositoryName repository) =>
        Repository.EndsWith("/*", StringComparison.Ordinal)
            ? string.Equals(Repository[..^2], repository.Namespace, StringComparison.Ordinal)
            : string.Equals(Repository, repository.FullName, StringComparison.Ordinal);
}
