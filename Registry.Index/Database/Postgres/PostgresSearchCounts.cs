using System.Collections.Concurrent;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// The counts of recent search terms and the sort keys at every <see cref="Spacing"/>th position of their
/// tiers, each kept with the generation of the rows it was found in
/// (<see cref="PostgresSearchSchema.Version5"/>); counts of an older generation are brought up to date from the
/// change log (<see cref="PostgresSearchChanges"/>). Every change to the rows, by any instance, bumps the generation
/// in its own transaction, so a count or position found under the generation a search reads in its snapshot
/// is exact for that snapshot; one of an older generation is never served.
/// </summary>
internal sealed class PostgresSearchCounts
{
    /// <summary>Bounds the memory: when this many terms are kept, the next new one starts the cache afresh.</summary>
    private const int MaxTerms = 4096;

    /// <summary>
    /// How many rows of a tier lie between two kept positions: a deep page walks or sorts at most about twice
    /// this many matches, and a broad term keeps one key per this many matches.
    /// </summary>
    public const int Spacing = 32;

    private readonly ConcurrentDictionary<string, (long Generation, TierCounts Counts)> _terms = new(StringComparer.Ordinal);
    /// <summary>Bounds the memory of the positions (a key is a name and 8 characters): past this many, they start afresh.</summary>
    private const long MaxKeys = 1_000_000;

    private readonly ConcurrentDictionary<(string Term, int Tier), (long Generation, PostgresSearchPositions Positions)> _positions = new();
    private readonly ConcurrentDictionary<(string Term, int Tier), (long Generation, PostgresSearchTierKeys Keys)> _tierKeys = new();
    private long _keptKeys;

    public TierCounts? Find(string term, long generation) =>
        _terms.TryGetValue(term, out var kept) && kept.Generation == generation ? kept.Counts : null;

    /// <summary>The counts kept for <paramref name="term"/> under an older generation, to bring up to date from the change log.</summary>
    public (long Generation, TierCounts Counts)? FindOlder(string term, long generation) =>
        _terms.TryGetValue(term, out var kept) && kept.Generation < generation ? kept : null;

    public void Keep(string term, long generation, TierCounts counts)
    {
        if (_terms.Count >= MaxTerms && !_terms.ContainsKey(term)) _terms.Clear();
        _terms[term] = (generation, counts);
    }

    /// <summary>The positions kept for a tier, of <paramref name="generation"/> or an older one (the caller adjusts those).</summary>
    public (long Generation, PostgresSearchPositions Positions)? FindPositions(string term, int tier, long generation) =>
        _positions.TryGetValue((term, tier), out var kept) && kept.Generation <= generation ? kept : null;

    public void KeepPositions(string term, int tier, long generation, PostgresSearchPositions positions)
    {
        // Positions are kept only for pages deep into a tier, but a broad term at a million rows keeps thousands.
        Charge(positions.Count, _positions.TryGetValue((term, tier), out var replaced) ? replaced.Positions.Count : 0);
        _positions[(term, tier)] = (generation, positions);
    }

    /// <summary>The whole key list kept for a small tier, of <paramref name="generation"/> or an older one (the caller adjusts those).</summary>
    public (long Generation, PostgresSearchTierKeys Keys)? FindTierKeys(string term, int tier, long generation) =>
        _tierKeys.TryGetValue((term, tier), out var kept) && kept.Generation <= generation ? kept : null;

    public void KeepTierKeys(string term, int tier, long generation, PostgresSearchTierKeys keys)
    {
        Charge(keys.Count, _tierKeys.TryGetValue((term, tier), out var replaced) ? replaced.Keys.Count : 0);
        _tierKeys[(term, tier)] = (generation, keys);
    }

    /// <summary>
    /// Positions and small tiers share one budget of <see cref="MaxKeys"/> keys: what replaces a kept entry (adjusted
    /// after a write) gives the old one's share back; past the budget both start afresh.
    /// </summary>
    private void Charge(int keys, int replacedKeys)
    {
        if (Interlocked.Add(ref _keptKeys, keys - replacedKeys) <= MaxKeys) return;
        _positions.Clear();
        _tierKeys.Clear();
        Interlocked.Exchange(ref _keptKeys, keys);
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
