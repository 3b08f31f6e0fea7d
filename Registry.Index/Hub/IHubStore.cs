namespace Registry.Index.Hub;

/// <summary>A user's star on a repository; <see cref="Created"/> in Unix seconds.</summary>
public sealed record RepositoryStar(string Repository, string User, long Created);

/// <summary>A comment under a repository, its text as the author wrote it (trimmed); <see cref="Created"/> in Unix seconds.</summary>
public sealed record RepositoryComment(long Id, string Repository, string User, string Text, long Created);

/// <summary>One page of a list and the number of items in the whole list.</summary>
public sealed record HubPage<T>(IReadOnlyList<T> Items, long Total);

/// <summary>
/// Who may see private repositories in a list: everyone's (<see cref="All"/>, admins), or only those of the namespace
/// <see cref="Namespace"/> (a user's own; null for anonymous callers, who see public ones only).
/// </summary>
public sealed record PrivateVisibility(bool All, string? Namespace)
{
    public static readonly PrivateVisibility None = new(false, null);
    public static readonly PrivateVisibility Everything = new(true, null);
}

/// <summary>
/// Stars and comments of repositories (issue 16, 'Hub API'), in the index database; each engine has one implementation.
/// Repositories are named by their logical "namespace/repository" (<c>library/</c> for one-part names). A star also
/// moves the repository's <c>star_count</c> in the search rows of the same database, in the same transaction, so that
/// search order (ties by stars) never disagrees with the stars table.
/// </summary>
public interface IHubStore
{
    /// <summary>Stars the repository for the user; false when it was starred already.</summary>
    Task<bool> StarAsync(string repository, string user, CancellationToken ct);

    /// <summary>Removes the user's star; false when there was none.</summary>
    Task<bool> UnstarAsync(string repository, string user, CancellationToken ct);

    /// <summary>Whether the user has starred the repository.</summary>
    Task<bool> HasStarredAsync(string repository, string user, CancellationToken ct);

    /// <summary>The number of stars and of comments of the repository.</summary>
    Task<(long Stars, long Comments)> CountsAsync(string repository, CancellationToken ct);

    /// <summary>The star counts of the given repositories (those without stars are absent).</summary>
    Task<IReadOnlyDictionary<string, int>> StarCountsAsync(IReadOnlyCollection<string> repositories, CancellationToken ct);

    /// <summary>The repository's stars, oldest first (then by user), cut at <paramref name="offset"/> for <paramref name="limit"/>.</summary>
    Task<HubPage<RepositoryStar>> StargazersAsync(string repository, long offset, int limit, CancellationToken ct);

    /// <summary>
    /// The user's stars, newest first (then by repository), leaving out private repositories (as the private search rows
    /// list them) that <paramref name="visibility"/> does not show.
    /// </summary>
    Task<HubPage<RepositoryStar>> StarredAsync(string user, PrivateVisibility visibility, long offset, int limit, CancellationToken ct);

    /// <summary>Adds a comment and returns it with its new id.</summary>
    Task<RepositoryComment> AddCommentAsync(string repository, string user, string text, CancellationToken ct);

    /// <summary>The comment with that id under that repository; null when it has none.</summary>
    Task<RepositoryComment?> GetCommentAsync(string repository, long id, CancellationToken ct);

    /// <summary>The repository's comments, newest first.</summary>
    Task<HubPage<RepositoryComment>> CommentsAsync(string repository, long offset, int limit, CancellationToken ct);

    /// <summary>Removes the comment; false when the repository has none with that id.</summary>
    Task<bool> RemoveCommentAsync(string repository, long id, CancellationToken ct);

    /// <summary>Removes every star and comment of a repository that was deleted (its search rows lose their stars too).</summary>
    Task RemoveRepositoryAsync(string repository, CancellationToken ct);

    /// <summary>The star count of every starred repository, for a search index rebuilt from storage.</summary>
    Task<IReadOnlyDictionary<string, int>> AllStarCountsAsync(CancellationToken ct);

    /// <summary>Every star and every comment (comments by id), for copying a whole index database.</summary>
    Task<(IReadOnlyList<RepositoryStar> Stars, IReadOnlyList<RepositoryComment> Comments)> ListAllAsync(CancellationToken ct);

    /// <summary>
    /// Replaces every star and comment, comment ids kept (later ones get ids above the highest). The search rows' star
    /// counts are left to the caller, which copies them with the search rows.
    /// </summary>
    Task ReplaceAllAsync(IReadOnlyList<RepositoryStar> stars, IReadOnlyList<RepositoryComment> comments, CancellationToken ct);
}
