namespace Registry.Index.Search;

/// <summary>The index of a flavor that turns search off: writes are dropped, nothing is found.</summary>
public sealed class NullSearchIndex : ISearchIndex
{
    public Task AddRepositoryAsync(string name, CancellationToken ct) => Task.CompletedTask;
    public Task SetDescriptionAsync(string name, string description, CancellationToken ct) => Task.CompletedTask;
    public Task RemoveRepositoryAsync(string name, CancellationToken ct) => Task.CompletedTask;
    public Task<SearchPage> SearchAsync(string query, int pageSize, int page, CancellationToken ct) => Task.FromResult(new SearchPage(0, []));
    public Task<SearchPage> SearchRangeAsync(string query, long offset, int limit, CancellationToken ct) => Task.FromResult(new SearchPage(0, []));
    public Task<IReadOnlyList<SearchEntry>> ListAllAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<SearchEntry>>([]);
    public Task<IReadOnlyList<string>> ListNamesUnderAsync(string prefix, CancellationToken ct) => Task.FromResult<IReadOnlyList<string>>([]);
    public Task<long> CountAsync(CancellationToken ct) => Task.FromResult(0L);
    public Task ReplaceAllAsync(IEnumerable<SearchEntry> entries, CancellationToken ct) => Task.CompletedTask;
}
