namespace Registry.Index.Database.Sqlite;

/// <summary>
/// The tier counts of recent terms for one version of the rows (<see cref="SearchSchema.CreateMeta"/>).
/// Counting is most of the cost of a search for a frequent term (two full-text lookups over every match),
/// while the page itself needs only a few rows; so a term searched again, or paged through, counts once per
/// version. The version is read inside the search's own snapshot, so cached counts are exact for it, unlike
/// <see cref="SearchResultCache"/>'s <c>data_version</c>, which is read before the snapshot begins.
/// Next to the counts it keeps positions in each tier (<see cref="TierPositions"/>), so that a deep page, asked
/// again or reached by paging, seeks to a known order key instead of skipping every row before it.
/// </summary>
internal sealed class SearchCountCache(int capacity)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Term> _counts = new(StringComparer.Ordinal);
    private long _version;

    public bool TryGet(long version, string term, out TierCounts counts)
    {
        lock (_gate)
        {
            if (version == _version && _counts.TryGetValue(term, out var kept))
            {
                counts = kept.Counts;
                return true;
            }

            counts = default;
            return false;
        }
    }

    /// <summary>
    /// The nearest kept position at or before <paramref name="offset"/> in the term's <paramref name="tier"/>:
    /// the row at that offset has that order key. (0, <see cref="long.MinValue"/>) when none is kept.
    /// </summary>
    public (long Offset, long OrderKey) Position(long version, string term, int tier, long offset)
    {
        lock (_gate)
        {
            return version == _version && _counts.TryGetValue(term, out var kept)
                ? kept.Positions.Before(tier, offset)
                : (0, long.MinValue);
        }
    }

    /// <summary>Keeps that the row at <paramref name="offset"/> of the tier has <paramref name="orderKey"/>, if the counts of that version are kept.</summary>
    public void AddPosition(long version, string term, int tier, long offset, long orderKey)
    {
        lock (_gate)
        {
            if (version == _version && _counts.TryGetValue(term, out var kept))
            {
                kept.Positions.Add(tier, offset, orderKey);
            }
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

            if (_counts.TryGetValue(term, out var kept))
            {
                // The same version's counts, completed (the name count): the positions stay true.
                kept.Counts = counts;
            }
            else
            {
                _counts[term] = new Term(counts);
            }
        }
    }

    /// <summary>
    /// After a write of one row that took the rows from version <paramref name="from"/> to <paramref name="to"/>
    /// (both read inside the write transaction, so nothing else changed in between), keeps every term's counts and
    /// positions exact for <paramref name="to"/> instead of dropping them: <paramref name="move"/> tells for a term
    /// in which tier the row was and is (or null when it cannot tell; that term is dropped and counted again). A row
    /// leaving a tier takes one from its counts and moves the positions after its order key back by one, a row
    /// entering one the reverse; the row total moves by <paramref name="rowDelta"/>. A write that gave other rows
    /// new order keys (<paramref name="renumbered"/>) drops every position, keeping the counts. When the kept
    /// counts are of another version (a search at <paramref name="to"/> came first), nothing is kept.
    /// </summary>
    public void CarryOver(long from, long to, Func<string, RowMove?> move, long rowDelta, bool renumbered)
    {
        lock (_gate)
        {
            if (_version != from || from == to)
            {
                return;
            }

            // Removing while enumerating is allowed for a Dictionary.
            foreach (var (term, kept) in _counts)
            {
                if (move(term) is not { } m)
                {
                    _counts.Remove(term);
                    continue;
                }

                kept.Counts = kept.Counts with { Rows = kept.Counts.Rows + rowDelta };
                if (renumbered)
                {
                    kept.Positions.Clear();
                }

                if (m.TierBefore == m.TierAfter)
                {
                    continue;
                }

                if (m.TierBefore >= 0)
                {
                    kept.Counts = kept.Counts.Shift(m.TierBefore, -1);
                    kept.Positions.Remove(m.TierBefore, m.KeyBefore);
                }

                if (m.TierAfter >= 0)
                {
                    kept.Counts = kept.Counts.Shift(m.TierAfter, +1);
                    kept.Positions.Insert(m.TierAfter, m.KeyAfter);
                }
            }

            _version = to;
        }
    }

    private sealed class Term(TierCounts counts)
    {
        public TierCounts Counts = counts;
        public readonly TierPositions Positions = new();
    }
}

/// <summary>
/// Known (offset in the tier, order key) pairs of one term's four tiers, each tier sorted by offset. Order keys
/// ascend in result order, so the rows of a tier from a known offset on are those with an order key at least the
/// known one: a page there is a seek plus a short skip.
/// </summary>
internal sealed class TierPositions
{
    /// <summary>Per tier; a deep paging session keeps two per page, so this covers several hundred pages.</summary>
    private const int MaxPerTier = 1024;

    private readonly List<(long Offset, long OrderKey)>?[] _tiers = new List<(long, long)>?[4];

    public (long Offset, long OrderKey) Before(int tier, long offset)
    {
        var kept = _tiers[tier];
        if (kept is null) return (0, long.MinValue);
        var i = kept.BinarySearch((offset, long.MaxValue));
        // Not found (the key is larger than any stored): ~i is the first entry after offset.
        i = i < 0 ? ~i - 1 : i;
        return i >= 0 ? kept[i] : (0, long.MinValue);
    }

    public void Add(int tier, long offset, long orderKey)
    {
        var kept = _tiers[tier] ??= [];
        var i = kept.BinarySearch((offset, long.MinValue));
        i = i < 0 ? ~i : i;
        if (i < kept.Count && kept[i].Offset == offset || kept.Count >= MaxPerTier) return;
        kept.Insert(i, (offset, orderKey));
    }

    /// <summary>The row of <paramref name="orderKey"/> left the tier: the rows after it move up by one.</summary>
    public void Remove(int tier, long orderKey)
    {
        var kept = _tiers[tier];
        if (kept is null) return;
        kept.RemoveAll(p => p.OrderKey == orderKey);
        for (var i = 0; i < kept.Count; i++)
        {
            if (kept[i].OrderKey > orderKey) kept[i] = (kept[i].Offset - 1, kept[i].OrderKey);
        }
    }

    /// <summary>A row of <paramref name="orderKey"/> entered the tier: the rows after it move down by one.</summary>
    public void Insert(int tier, long orderKey)
    {
        var kept = _tiers[tier];
        if (kept is null) return;
        for (var i = 0; i < kept.Count; i++)
        {
            if (kept[i].OrderKey > orderKey) kept[i] = (kept[i].Offset + 1, kept[i].OrderKey);
        }
    }

    public void Clear() => Array.Clear(_tiers);
}

/// <summary>
/// Where a written row stands for one term before and after the write: its tier (0-3 as in the search, -1 when
/// it does not match or does not exist) and its order key.
/// </summary>
internal readonly record struct RowMove(int TierBefore, long KeyBefore, int TierAfter, long KeyAfter);

/// <summary>
/// The counts that size the four tiers of one term. <see cref="Name"/> is -1 until needed: for a term of
/// 3+ characters it costs a second full-text lookup that the first pages of a frequent term do without.
/// </summary>
internal readonly record struct TierCounts(long Rows, long Any, long Name, long Prefix, long Exact)
{
    public bool HasName => Name >= 0;

    /// <summary>
    /// The counts with one row more (<paramref name="sign"/> +1) or fewer in <paramref name="tier"/>: every match
    /// counts in Any, a name match (tiers 0-2) in Name, a prefix match (0-1) in Prefix, an exact one in Exact.
    /// </summary>
    public TierCounts Shift(int tier, int sign) => this with
    {
        Any = Any + sign,
        Name = HasName && tier <= 2 ? Name + sign : Name,
        Prefix = tier <= 1 ? Prefix + sign : Prefix,
        Exact = tier == 0 ? Exact + sign : Exact,
    };
}
