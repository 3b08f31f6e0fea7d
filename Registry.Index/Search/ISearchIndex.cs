namespace Registry.Index.Search;

/// <summary>One searchable repository. <see cref="Name"/> is the logical "namespace/repository".</summary>
public sealed record SearchEntry(string Name, string Description, int StarCount = 0)
{
    /// <summary>Set by a storage scan: the repository is private and belongs in <see cref="IPrivateRepositories"/>.</summary>
    public bool Private { get; init; }
}

/// <summary>One page of matches and the total number of matches.</summary>
public sealed record SearchPage(long NumResults, IReadOnlyList<SearchEntry> Results);

/// <summary>
/// The repository search index (Docker Hub API, 'Search'). Kept in step with storage by every write; rebuilt from
/// storage when new or empty.
/// </summary>
public interface ISearchIndex
{
    /// <summary>Adds the repository if absent; an existing entry keeps its description.</summary>
    Task AddRepositoryAsync(string name, CancellationToken ct);

    /// <summary>Adds the repository if absent and sets its description ("" clears it).</summary>
    Task SetDescriptionAsync(string name, string description, CancellationToken ct);

    /// <summary>Removes the repository; no-op when absent.</summary>
    Task RemoveRepositoryAsync(string name, CancellationToken ct);

    /// <summary>
    /// Case-insensitive literal substring match on name or description, in the relevance order of Docker Hub API, 'Search':
    /// repository part equal to the term, then name prefix, then other name matches, then description-only;
    /// ties by star count descending, then name ordinal. <paramref name="page"/> is 1-based.
    /// </summary>
    Task<SearchPage> SearchAsync(string query, int pageSize, int page, CancellationToken ct);

    /// <summary>
    /// The same matches and order as <see cref="SearchAsync"/>, cut at any <paramref name="offset"/> (0-based) for
    /// <paramref name="limit"/> (at least 1) entries; never served from a cache.
    /// </summary>
    Task<SearchPage> SearchRangeAsync(string query, long offset, int limit, CancellationToken ct);

    /// <summary>Every repository of the index with its description and star count, ordered by name (ordinal).</summary>
    Task<IReadOnlyList<SearchEntry>> ListAllAsync(CancellationToken ct);

    /// <summary>
    /// The names directly under <paramref name="prefix"/>: starting with it (ordinally) and without a further '/';
    /// "" gives the one-part names. In no particular order: what the index lists under one directory of storage,
    /// for following changes made behind its back.
    /// </summary>
    Task<IReadOnlyList<string>> ListNamesUnderAsync(string prefix, CancellationToken ct);

    /// <summary>Number of repositories in the index.</summary>
    Task<long> CountAsync(CancellationToken ct);

    /// <summary>Replaces the whole content of the index in one transaction.</summary>
    Task ReplaceAllAsync(IEnumerable<SearchEntry> entries, CancellationToken ct);

    /// <summary>
    /// The same from entries still being produced (a storage scan): an engine that can load rows as they come
    /// does, so that loading overlaps the scan; the others take them all first. A stream that fails leaves the
    /// index as it was. Names are expected once each (a repeated one: the last wins, as above).
    /// </summary>
    async Task ReplaceAllAsync(IAsyncEnumerable<SearchEntry> entries, CancellationToken ct)
    {
        var all = new List<SearchEntry>();
        await foreach (var entry in entries.WithCancellation(ct)) all.Add(entry);
        await ReplaceAllAsync(all, ct);
    }
}
