namespace Registry.Index.Search;

/// <summary>A mirror's upstream index, asked by <see cref="SearchService"/> to merge its results with the local ones.</summary>
public interface IUpstreamSearch
{
    /// <summary>False when this server is not a mirror: search answers from the local index alone.</summary>
    bool Enabled { get; }

    /// <summary>
    /// The first <paramref name="count"/> upstream matches (names as local search spells them) and the upstream's
    /// total; null when the upstream cannot answer (the implementation logs why).
    /// </summary>
    Task<SearchPage?> SearchAsync(string query, int count, CancellationToken ct);
}

/// <summary>Not a mirror.</summary>
public sealed class NullUpstreamSearch : IUpstreamSearch
{
    public bool Enabled => false;

    public Task<SearchPage?> SearchAsync(string query, int count, CancellationToken ct) => Task.FromResult<SearchPage?>(null);
}
