using System.Runtime.InteropServices;

namespace Registry.Index.Database.Sqlite;

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

    /// <summary>
    /// After a write of one row that took the rows from version <paramref name="from"/> to <paramref name="to"/>
    /// (both read inside the write transaction, so nothing else changed in between), keeps the counts of every
    /// term that neither the old nor the new text of the row contains: the row adds nothing to any of their
    /// counts before or after, so they are exact for <paramref name="to"/> too; only the row total moves, by
    /// <paramref name="rowDelta"/>. The counts of the terms the row contains are dropped and counted again.
    /// When the kept counts are of another version (a search at <paramref name="to"/> came first), nothing is kept.
    /// </summary>
    public void CarryOver(long from, long to, Func<string, bool> affected, long rowDelta)
    {
        lock (_gate)
        {
            if (_version != from || from == to)
            {
                return;
            }

            // Removing while enumerating is allowed for a Dictionary, and so is changing a value through a ref.
            foreach (var term in _counts.Keys)
            {
                if (affected(term))
                {
                    _counts.Remove(term);
                }
                else if (rowDelta != 0)
                {
                    ref var counts = ref CollectionsMarshal.GetValueRefOrNullRef(_counts, term);
                    counts = counts with { Rows = counts.Rows + rowDelta };
                }
            }

            _version = to;
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
