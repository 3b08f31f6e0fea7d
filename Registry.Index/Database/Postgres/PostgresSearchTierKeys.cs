namespace Registry.Index.Database.Postgres;

/// <summary>
/// Every sort key of one small tier of a term's results, in order, so that any page of it is read by key from the
/// ordering index instead of from the trigram indexes: a term matched by a few dozen rows pays the trigram scan of
/// its name or description tier once, not on every page or repeat. Kept valid across later writes like
/// <see cref="PostgresSearchPositions"/>: the change log says which rows of the tier were taken out or put in.
/// </summary>
internal sealed class PostgresSearchTierKeys
{
    /// <summary>Tiers up to this size are kept whole; a larger one pages through the indexes and positions.</summary>
    public const int MaxSize = 4 * PostgresSearchCounts.Spacing;

    private readonly string[] _keys;

    public PostgresSearchTierKeys(string[] keys) => _keys = keys;

    public int Count => _keys.Length;

    /// <summary>The keys of rows <paramref name="skip"/> to <paramref name="skip"/> + <paramref name="count"/> of the tier.</summary>
    public string[] Slice(long skip, long count) =>
        _keys.Skip((int)Math.Min(skip, _keys.Length)).Take((int)Math.Min(count, _keys.Length)).ToArray();

    /// <summary>
    /// These keys after <paramref name="changes"/> (in log order) to tier <paramref name="tier"/> of
    /// <paramref name="term"/>, whose size is now <paramref name="tierSize"/>; null when a change has no sort key
    /// (logged before the log kept one), when the tier outgrew <see cref="MaxSize"/>, or when the result does not
    /// add up to the tier's size.
    /// </summary>
    public PostgresSearchTierKeys? Adjust(string term, int tier, long tierSize, IReadOnlyList<PostgresSearchChanges.Change> changes)
    {
        if (tierSize > MaxSize) return null;
        List<string>? keys = null;
        foreach (var change in changes)
        {
            if (change.Tier(term) != tier) continue;
            if (change.SortKey.Length == 0) return null;
            keys ??= [.. _keys];
            var at = keys.BinarySearch(change.SortKey, KeyOrder.Instance);
            if (change.Sign > 0 && at < 0) keys.Insert(~at, change.SortKey);
            else if (change.Sign < 0 && at >= 0) keys.RemoveAt(at);
            else return null;
        }

        if (keys is null) return _keys.Length == tierSize ? this : null;
        return keys.Count == tierSize ? new PostgresSearchTierKeys([.. keys]) : null;
    }

    private sealed class KeyOrder : IComparer<string>
    {
        public static readonly KeyOrder Instance = new();

        public int Compare(string? a, string? b) => PostgresSearchPositions.CompareKeys(a!, b!);
    }
}
