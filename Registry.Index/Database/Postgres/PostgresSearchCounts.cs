using System.Collections.Concurrent;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// The counts of recent search terms, each kept with the generation of the rows it was counted in
/// (<see cref="PostgresSearchSchema.Version5"/>). Every change to the rows, by any instance, bumps the generation
/// in its own transaction, so a count found under the generation a search reads in its snapshot is exact for
/// that snapshot; a count of an older generation is never served.
/// </summary>
internal sealed class PostgresSearchCounts
{
    /// <summary>Bounds the memory: when this many terms are kept, the next new one starts the cache afresh.</summary>
    private const int MaxTerms = 4096;

    private readonly ConcurrentDictionary<string, (long Generation, TierCounts Counts)> _terms = new(StringComparer.Ordinal);

    public TierCounts? Find(string term, long generation) =>
        _terms.TryGetValue(term, out var kept) && kept.Generation == generation ? kept.Counts : null;

    public void Keep(string term, long generation, TierCounts counts)
    {
        if (_terms.Count >= MaxTerms && !_terms.ContainsKey(term)) _terms.Clear();
        _terms[term] = (generation, counts);
    }

    /// <summary>
    /// The nested counts of one term: rows whose repository part equals it, whose name or repository part starts
    /// with it, whose name contains it, and all matches.
    /// </summary>
    public sealed record TierCounts(long Exact, long Prefix, long Name, long Matches)
    {
        public long TierSize(int tier) => tier switch
        {
            0 => Exact,
            1 => Prefix - Exact,
            2 => Name - Prefix,
            _ => Matches - Name,
        };
    }
}
