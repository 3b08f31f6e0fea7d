namespace Registry.Index.Database.Postgres;

/// <summary>
/// Positions in one tier of a term's results, so that a deep page starts near its first row: each is a sort key
/// and its rank, the number of the tier's rows whose key is below it (the key itself need not be a row any more).
/// They are found as every <see cref="PostgresSearchCounts.Spacing"/>th key of the tier, and kept valid across
/// later writes by <see cref="Adjust"/>: a row put in (or taken out) below a key raises (or lowers) its rank by
/// one, which the change log says (<see cref="PostgresSearchChanges"/>), so a write costs a deep page a short read
/// of the log instead of a walk through the whole tier.
/// </summary>
internal sealed class PostgresSearchPositions
{
    /// <summary>
    /// Writes may widen the gap between two positions; past this many rows a page could read that many before its
    /// first row, and the positions are found again instead.
    /// </summary>
    public const int MaxGap = 4 * PostgresSearchCounts.Spacing;

    private readonly string[] _keys;
    private readonly long[] _ranks;

    private PostgresSearchPositions(string[] keys, long[] ranks)
    {
        _keys = keys;
        _ranks = ranks;
    }

    public int Count => _keys.Length;

    /// <summary>From the keys of positions 0, Spacing, 2 × Spacing, … of a tier, in order.</summary>
    public static PostgresSearchPositions Found(string[] keys) =>
        new(keys, Enumerable.Range(0, keys.Length).Select(i => (long)i * PostgresSearchCounts.Spacing).ToArray());

    /// <summary>
    /// Where rows <paramref name="skip"/> to <paramref name="skip"/> + <paramref name="count"/> of the tier lie: the
    /// nearest position at or before the first (its key and rank; null: start at the tier's first row) and the
    /// nearest key at or after the row past the last (null: read to the tier's end).
    /// </summary>
    public ((string Key, long Rank)? From, string? Before) Around(long skip, long count)
    {
        // The last position whose rank is at most skip, and the first whose rank is at least skip + count.
        var from = UpperBound(skip) - 1;
        var before = LowerBound(skip + count);
        return (from >= 0 ? (_keys[from], _ranks[from]) : null, before < _keys.Length ? _keys[before] : null);
    }

    /// <summary>
    /// These positions after <paramref name="changes"/> to the rows (in any order: a rank is a sum of them), for
    /// tier <paramref name="tier"/> of <paramref name="term"/> whose size is now <paramref name="tierSize"/>; null
    /// when a change has no sort key (logged before the log kept one) or when a gap grew past <see cref="MaxGap"/>.
    /// </summary>
    public PostgresSearchPositions? Adjust(string term, int tier, long tierSize, IReadOnlyList<PostgresSearchChanges.Change> changes)
    {
        var moves = new List<(string Key, int Sign)>();
        foreach (var change in changes)
        {
            if (change.Tier(term) != tier) continue;
            if (change.SortKey.Length == 0) return null;
            moves.Add((change.SortKey, change.Sign));
        }

        if (moves.Count == 0) return this;
        moves.Sort((a, b) => CompareKeys(a.Key, b.Key));
        var ranks = new long[_ranks.Length];
        long shift = 0, previous = 0;
        var next = 0;
        for (var i = 0; i < _keys.Length; i++)
        {
            while (next < moves.Count && CompareKeys(moves[next].Key, _keys[i]) < 0) shift += moves[next++].Sign;
            ranks[i] = _ranks[i] + shift;
            if (ranks[i] - previous > MaxGap) return null;
            previous = ranks[i];
        }

        return tierSize - previous > MaxGap ? null : new PostgresSearchPositions(_keys, ranks);
    }

    /// <summary>
    /// Orders keys as PostgreSQL's <c>COLLATE "C"</c> does in a UTF-8 database: by code point. UTF-16's order
    /// differs only where a surrogate (a code point above U+FFFF) meets a unit from U+E000 up, which sorts first.
    /// </summary>
    internal static int CompareKeys(string a, string b)
    {
        var length = Math.Min(a.Length, b.Length);
        for (var i = 0; i < length; i++)
        {
            if (a[i] != b[i]) return Weight(a[i]) - Weight(b[i]);
        }

        return a.Length - b.Length;

        static int Weight(char c) => c < 0xD800 ? c : c < 0xE000 ? c + 0x2000 : c - 0x800;
    }

    private int UpperBound(long rank)
    {
        int low = 0, high = _ranks.Length;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_ranks[middle] <= rank) low = middle + 1;
            else high = middle;
        }

        return low;
    }

    private int LowerBound(long rank)
    {
        int low = 0, high = _ranks.Length;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_ranks[middle] < rank) low = middle + 1;
            else high = middle;
        }

        return low;
    }
}
