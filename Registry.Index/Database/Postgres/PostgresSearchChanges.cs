using Dapper;
using Npgsql;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// Brings a term's counts from an older generation up to the generation of a search's snapshot from the change
/// log of <see cref="PostgresSearchSchema.Version7"/>: every row taken out or put in since is re-tested against
/// the term with the same literal substring semantics as the count query, which is what SQLite's maintained
/// counters achieve on a single file. Counts are recounted instead when the gap is long, when a generation is
/// missing from the log (pruned) or when everything was replaced (a rebuild).
/// </summary>
internal static class PostgresSearchChanges
{
    /// <summary>Past this many generations or logged rows, one recount is cheaper than reading the log.</summary>
    public const int MaxGenerations = 5_000;

    private const int MaxRows = 20_000;

    /// <summary>How long changes stay in the log, and how many generations at most: an instance idle for longer recounts.</summary>
    private static readonly TimeSpan Keep = TimeSpan.FromMinutes(30);

    private const int KeepGenerations = 50_000;

    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(1);

    private const string ChangesSql = """
        SELECT generation, sign, name_lower AS NameLower, repo_lower AS RepoLower, description_lower AS DescriptionLower, sort_key AS SortKey
          FROM search_changes
         WHERE generation > @from AND generation <= @to ORDER BY generation LIMIT @limit
        """;

    /// <summary>The changes between two generations, or null when they cannot stand in for a recount.</summary>
    public static async Task<IReadOnlyList<Change>?> ReadAsync(
        NpgsqlConnection connection, NpgsqlTransaction snapshot, long from, long to, CancellationToken ct)
    {
        if (to - from > MaxGenerations || to < from) return null;
        var changes = (await connection.QueryAsync<Change>(new CommandDefinition(
            ChangesSql, new { from, to, limit = MaxRows + 1 }, snapshot, cancellationToken: ct))).AsList();
        if (changes.Count > MaxRows || changes.Any(c => c.Sign == 0)) return null;
        // Every generation logs at least one row: a generation without any was pruned.
        return changes.Select(c => c.Generation).Distinct().LongCount() == to - from ? changes : null;
    }

    /// <summary><paramref name="counts"/> with every change applied: a row counts where the count query would count it.</summary>
    public static PostgresSearchCounts.TierCounts Apply(PostgresSearchCounts.TierCounts counts, string term, IEnumerable<Change> changes)
    {
        var (exact, prefix, name, matches) = (counts.Exact, counts.Prefix, counts.Name, counts.Matches);
        foreach (var change in changes)
        {
            var tier = change.Tier(term);
            if (tier < 0) continue;
            matches += change.Sign;
            if (tier <= 2) name += change.Sign;
            if (tier <= 1) prefix += change.Sign;
            if (tier == 0) exact += change.Sign;
        }

        return new PostgresSearchCounts.TierCounts(exact, prefix, name, matches);
    }

    /// <summary>Drops old changes, at most once every <see cref="PruneEvery"/> per instance; whole generations go, so the gap check holds.</summary>
    public static async Task PruneAsync(NpgsqlConnection connection, PruneClock clock, CancellationToken ct)
    {
        if (!clock.Due(PruneEvery)) return;
        await connection.ExecuteAsync(new CommandDefinition("""
            DELETE FROM search_changes
             WHERE at < now() - make_interval(secs => @keep)
                OR generation <= (SELECT generation FROM search_generation WHERE id = 0) - @keepGenerations
            """, new { keep = Keep.TotalSeconds, keepGenerations = KeepGenerations }, cancellationToken: ct));
    }

    /// <summary>
    /// One logged row: as it was (sign -1), as it is (sign +1), or a replacement of everything (sign 0). An empty
    /// <see cref="SortKey"/> was logged before the log kept it (<see cref="PostgresSearchSchema.Version8"/>).
    /// </summary>
    public sealed record Change(long Generation, short Sign, string NameLower, string RepoLower, string DescriptionLower, string SortKey)
    {
        /// <summary>
        /// The tier of the search's results the row falls in for <paramref name="term"/> (the sets of
        /// <c>TierFilterSql</c>: 0 exact, 1 prefix, 2 elsewhere in the name, 3 description only), or -1 when it does
        /// not match. A prefix of the repository part is a substring of the name, so the tiers nest as the counts do.
        /// </summary>
        public int Tier(string term)
        {
            if (RepoLower == term) return 0;
            if (NameLower.StartsWith(term, StringComparison.Ordinal) || RepoLower.StartsWith(term, StringComparison.Ordinal)) return 1;
            if (NameLower.Contains(term, StringComparison.Ordinal)) return 2;
            return DescriptionLower.Length > 0 && DescriptionLower.Contains(term, StringComparison.Ordinal) ? 3 : -1;
        }
    }

    /// <summary>When this instance last pruned.</summary>
    public sealed class PruneClock
    {
        private long _last = Environment.TickCount64;

        public bool Due(TimeSpan every)
        {
            var last = Interlocked.Read(ref _last);
            var now = Environment.TickCount64;
            return now - last >= every.TotalMilliseconds && Interlocked.CompareExchange(ref _last, now, last) == last;
        }
    }
}
