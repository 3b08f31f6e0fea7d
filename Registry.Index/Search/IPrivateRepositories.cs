namespace Registry.Index.Search;

/// <summary>
/// Private repositories, kept out of the shared search index (<see cref="ISearchIndex"/>) and searched on
/// behalf of the users who may read them (their owner, admins).
/// </summary>
public interface IPrivateRepositories
{
    /// <summary>Adds the repository, or replaces its description.</summary>
    Task UpsertAsync(string name, string description, CancellationToken ct);

    /// <summary>Removes the repository; no-op when absent.</summary>
    Task RemoveAsync(string name, CancellationToken ct);

    /// <summary>Every private repository with its description, ordered by name.</summary>
    Task<IReadOnlyList<SearchEntry>> ListAllAsync(CancellationToken ct);

    /// <summary>Replaces every private repository by <paramref name="entries"/>.</summary>
    Task ReplaceAllAsync(IEnumerable<SearchEntry> entries, CancellationToken ct);

    /// <summary>
    /// The private repositories matching <paramref name="query"/> (case-insensitive substring of name or
    /// description) that <paramref name="owner"/> owns, or all of them when <paramref name="everyone"/>, in the
    /// relevance order of <see cref="ISearchIndex.SearchAsync"/>; none for no owner unless <paramref name="everyone"/>.
    /// </summary>
    Task<IReadOnlyList<SearchEntry>> SearchAsync(string query, string? owner, bool everyone, CancellationToken ct);
}
