namespace Registry.Index.Search;

/// <summary>
/// The tier counts of recent terms for one version of the rows (<see cref="SearchSchema.CreateMeta"/>).
/// Counting is most of the cost of a search for a frequent term (two full-text lookups over every match),
/// while the page itself needs only a few rows; so a term searched again, or paged through, counts once per
/// version. The version is read inside the search's own snapshot, so cached counts are exact for it, unlike
/// <see cref="SearchResultCache"/>'s <c>data_version</c>, which is read before the snapshot begins.
/// </summary>
internal sealed class SearchCountCache(int capacity)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TierCounts> _counts = new(StringComparer.Ordinal);
    private long _version;

    public bool TryGet(long version, string term, out TierCounts counts)
    {
        lock (_gate)
        {
            if (version == _version && _counts.TryGetValue(term, out counts))
            {
                return true;
            }

            counts = default;
            return false;
        }
    }

    /// <summary>
    /// Keeps counts read at <paramref name="version"/>. A newer version than the kept one replaces them all;
    /// a search still reading an older snapshot then finds nothing and counts for itself.
    /// </summary>
    public void Add(long version, string term, TierCounts counts)
    {
        lock (_gate)
        {
            if (version != _version || _counts.Count >= capacity)
            {
                // Simpler than LRU; a registry sees few popular terms between two writes.
                _counts.Clear();
                _version = version;
            }

            _counts[term] = counts;
        }
    }
}

/// <summary>
/// The counts that size the four tiers of one term. <see cref="Name"/> is -1 until needed: for a term of
/// 3+ characters it costs a second full-text lookup that the first pages of a frequent term do without.
/// </summary>
internal readonly record struct TierCounts(long Rows, long Any, long Name, long Prefix, long Exact)
{
    public bool HasName => Name >= 0;
}
