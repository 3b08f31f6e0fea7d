using Microsoft.Data.Sqlite;
using Registry.Index.Search;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// Search. A match is a row whose lower-cased name or description contains the lower-cased term. Matches
/// fall into four tiers, each ordered by star count descending then name (binary collation, a total order
/// because names are unique):
/// <list type="number">
/// <item>0: the repository part equals the term;</item>
/// <item>1: the name or the repository part starts with the term (and not tier 0);</item>
/// <item>2: the name contains the term elsewhere;</item>
/// <item>3: only the description contains it.</item>
/// </list>
/// Each tier is a subset of "the name starts with / contains / row contains", so the tier sizes follow from
/// three counts: for terms of 3+ characters from the FTS5 trigram index and the prefix indexes, for shorter
/// terms (and "") from the counters kept by every write. Counts are kept per version of the rows
/// (<see cref="SearchCountCache"/>), so paging through a term or repeating it counts once per write.
/// The page is then cut out of the tiers it overlaps.
/// Rows carry an order key that ascends in result order and is the full-text rowid, so for 3+ characters
/// the name and description tiers come out of the full-text index already in order: a page is read with
/// LIMIT/OFFSET, without a sort and (for the description tier) without touching the rows. For the prefix
/// tiers the cheaper of two plans is taken: collect every candidate from the prefix indexes and sort their
/// keys, or walk the ordering index and filter until the page is full; short terms walk for every tier.
/// Every plan starts at the nearest position kept for the term's tier (<see cref="TierPositions"/>), so a page
/// asked again, or the next one, skips only the rows between that position and the page.
/// </summary>
public sealed partial class SqliteSearchIndex
{
    /// <summary>
    /// What collecting and sorting one candidate of a prefix tier costs, in steps of the ordered walk: an
    /// index entry plus the sort. Measured on the benchmark data.
    /// </summary>
    private const double IndexCandidateCost = 3;

    /// <summary>
    /// What reading a tier in order from the full-text index costs, in the same steps: loading the doclists of
    /// every trigram first, then each match. Measured on the benchmark data (a description word at 100k rows:
    /// about 0.25 ms before the first match, against 0.1 ms for a walk over 1,000 rows).
    /// </summary>
    private const double FullTextSetupCost = 3000;

    private const double FullTextMatchCost = 7;

    /// <inheritdoc />
    public async Task<SearchPage> SearchAsync(string query, int pageSize, int page, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var term = (query ?? "").ToLowerInvariant();
        SearchResultCache.Version version = default;
        if (CacheResults && Guard(() => _cache.Get(term, pageSize, page, out version)) is { } cached) return cached;

        // SQLite runs synchronously (its async API only wraps the sync calls). Only as many searches run at
        // once as there are kept-open read sessions; the others wait here without holding a thread, so
        // sessions are reused instead of opened and prepared anew under load.
        await _searchSlots.WaitAsync(ct);
        try
        {
            return Guard(() =>
            {
                var result = Search(term, pageSize, page);
                if (CacheResults) _cache.Add(term, pageSize, page, version, result);
                return result;
            });
        }
        finally
        {
            _searchSlots.Release();
        }
    }

    /// <inheritdoc />
    public async Task<SearchPage> SearchRangeAsync(string query, long offset, int limit, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var term = (query ?? "").ToLowerInvariant();
        await _searchSlots.WaitAsync(ct);
        try
        {
            return Guard(() => Search(term, offset, limit));
        }
        finally
        {
            _searchSlots.Release();
        }
    }

    private SearchPage Search(string term, int pageSize, int page) => Search(term, (long)(page - 1) * pageSize, pageSize);

    private SearchPage Search(string term, long offset, int limit)
    {
        var session = _reads.Rent();
        SearchPage result;
        try
        {
            // One read snapshot for the counts and the page, so that they agree under concurrent writes.
            using var snapshot = session.Connection.BeginTransaction(deferred: true);
            result = new SearchRun(session, snapshot, _counts, term).Page(offset, limit);
            snapshot.Commit();
        }
        catch
        {
            // A session that failed may hold a half-read statement; it is not reused.
            session.Dispose();
            throw;
        }

        _reads.Return(session);
        return result;
    }

    private sealed class SearchRun
    {
        private readonly SearchReadSession _session;
        private readonly SqliteTransaction _snapshot;
        private readonly SearchCountCache _counts;
        private readonly string _term;
        private readonly int _length;

        // Every key that starts with the term sorts in [term, term + U+10FFFF); only keys that continue
        // with the noncharacter U+10FFFF itself are missed.
        private readonly string _upper;

        // In an FTS5 string only a doubled quote is special, so this makes any user text a literal phrase.
        private readonly string _phrase;
        private readonly string _nameMatch;
        private readonly string _descriptionOnlyMatch;
        private readonly long _mask;
        private long _version;

        public SearchRun(SearchReadSession session, SqliteTransaction snapshot, SearchCountCache counts, string term)
        {
            _session = session;
            _counts = counts;
            _snapshot = snapshot;
            _term = term;
            _length = ShortTermCounts.RuneLength(term);
            _upper = term + "\U0010FFFF";
            _phrase = "\"" + term.Replace("\"", "\"\"") + "\"";
            _nameMatch = "name_t : " + _phrase;
            _descriptionOnlyMatch = $"desc_t : {_phrase} NOT name_t : {_phrase}";
            _mask = NameMask.Of(term);
        }

        private bool Trigram => _length >= 3;

        public SearchPage Page(long offset, int pageSize)
        {
            var version = _version = Scalar(SearchSchema.ReadVersion);
            if (!_counts.TryGet(version, _term, out var counts))
            {
                counts = ReadCounts();
                _counts.Add(version, _term, counts);
            }

            if (offset >= counts.Any)
            {
                return new SearchPage(counts.Any, []);
            }

            // For 3+ characters the name count is only needed when the page reaches past the prefix tiers.
            var name = counts.HasName ? counts.Name : offset + pageSize <= counts.Prefix ? counts.Prefix : -1;
            if (name < 0)
            {
                counts = counts with { Name = Scalar(TrigramNameCountSql) };
                _counts.Add(version, _term, counts);
                name = counts.Name;
            }

            long[] tiers = [counts.Exact, counts.Prefix - counts.Exact, name - counts.Prefix, counts.Any - name];
            var entries = new List<SearchEntry>(pageSize);
            long start = 0;
            for (var tier = 0; tier < tiers.Length && entries.Count < pageSize; tier++)
            {
                var end = start + tiers[tier];
                var from = offset + entries.Count;
                if (from < end)
                {
                    var limit = (int)Math.Min(pageSize - entries.Count, end - from);
                    ReadTier(tier, from - start, limit, tiers[tier], counts.Rows, entries);
                }

                start = end;
            }

            return new SearchPage(counts.Any, entries);
        }

        /// <summary>One statement for every count the tiers need but, for 3+ characters, the name count.</summary>
        private TierCounts ReadCounts()
        {
            using var reader = Execute(Trigram ? TrigramCountsSql : ShortCountsSql, 0, 0);
            reader.Read();
            return new TierCounts(
                Rows: reader.GetInt64(0),
                Any: reader.GetInt64(1),
                Name: Trigram ? -1 : reader.GetInt64(2),
                Prefix: reader.GetInt64(3),
                Exact: _term.Length == 0 ? 0 : reader.GetInt64(4));
        }

        /// <summary>
        /// Reads rows <paramref name="offset"/> on of a tier, from the nearest kept position before them (the
        /// rows from a kept position on are those from its order key on), and keeps the positions of the first
        /// and the last row read, so that the same page again or the next one starts there.
        /// </summary>
        private void ReadTier(int tier, long offset, int limit, long size, long rows, List<SearchEntry> entries)
        {
            var (known, after) = _counts.Position(_version, _term, tier, offset);
            offset -= known;
            var walkCost = (offset + limit) * (double)rows / size;
            var sql = tier switch
            {
                0 => CollectSql[0],
                1 => size * IndexCandidateCost <= walkCost ? CollectSql[1] : WalkSql[1],
                _ => Trigram && FullTextSetupCost + (offset + limit) * FullTextMatchCost <= walkCost
                    ? FullTextSql[tier - 2]
                    : WalkSql[tier],
            };
            using var reader = Execute(sql, limit, offset, after);
            long first = 0, last = 0;
            var read = 0;
            while (reader.Read())
            {
                entries.Add(new SearchEntry(reader.GetString(0), reader.GetString(1), (int)reader.GetInt64(2)));
                last = reader.GetInt64(3);
                if (read++ == 0) first = last;
            }

            if (read > 0)
            {
                _counts.AddPosition(_version, _term, tier, known + offset, first);
                _counts.AddPosition(_version, _term, tier, known + offset + read - 1, last);
            }
        }

        private long Scalar(string sql)
        {
            using var reader = Execute(sql, 0, 0);
            reader.Read();
            return reader.GetInt64(0);
        }

        private SqliteDataReader Execute(string sql, int limit, long offset, long after = long.MinValue)
        {
            var command = _session.Command(sql, _snapshot);
            var parameters = command.Parameters;
            parameters[SearchReadSession.Term].Value = _term;
            parameters[SearchReadSession.Upper].Value = _upper;
            parameters[SearchReadSession.Length].Value = _length;
            parameters[SearchReadSession.Match].Value = _phrase;
            parameters[SearchReadSession.NameMatch].Value = _nameMatch;
            parameters[SearchReadSession.DescriptionOnlyMatch].Value = _descriptionOnlyMatch;
            parameters[SearchReadSession.Limit].Value = limit;
            parameters[SearchReadSession.Offset].Value = offset;
            parameters[SearchReadSession.Mask].Value = _mask;
            parameters[SearchReadSession.After].Value = after;
            return command.ExecuteReader();
        }
    }

    /// <summary>
    /// Rows, then the matches, name matches and prefix matches, then the exact repository matches. For 3+
    /// characters the name count is left to <see cref="TrigramNameCountSql"/>. The prefix count adds the
    /// repository-part prefixes to the name prefixes that are not also repository-part prefixes, which
    /// counts the union without building it.
    /// </summary>
    private const string TrigramCountsSql = """
        SELECT (SELECT n_any FROM search_short_terms WHERE term = ''),
            (SELECT count(*) FROM search_fts WHERE search_fts MATCH @match),
            0,
            (SELECT count(*) FROM search_repositories INDEXED BY ix_search_repo_lower
                WHERE repo_lower >= @term AND repo_lower < @upper)
            + (SELECT count(*) FROM search_repositories INDEXED BY ix_search_name_lower
                WHERE name_lower >= @term AND name_lower < @upper AND NOT (repo_lower >= @term AND repo_lower < @upper)),
            (SELECT count(*) FROM search_repositories INDEXED BY ix_search_repo_lower WHERE repo_lower = @term)
        """;

    private const string ShortCountsSql = """
        SELECT (SELECT n_any FROM search_short_terms WHERE term = ''),
            coalesce((SELECT n_any FROM search_short_terms WHERE term = @term), 0),
            coalesce((SELECT n_name FROM search_short_terms WHERE term = @term), 0),
            coalesce((SELECT n_prefix FROM search_short_terms WHERE term = @term), 0),
            (SELECT count(*) FROM search_repositories INDEXED BY ix_search_repo_lower WHERE repo_lower = @term)
        """;

    private const string TrigramNameCountSql = "SELECT count(*) FROM search_fts WHERE search_fts MATCH @name";

    /// <summary>
    /// Each tier query picks the order keys of its part of the page; the rows are then read by key in the
    /// same order, so one statement yields the page's entries. Every tier query starts at order key @after (the
    /// smallest integer when no position is known).
    /// </summary>
    private static string Entries(string keys) => $"""
        SELECT name, description, star_count, order_key FROM search_repositories INDEXED BY ix_search_order WHERE order_key IN (
        {keys})
        ORDER BY order_key
        """;

    /// <summary>
    /// Collect plans of the prefix tiers. Tier 0 reads its keys in order from the repository-part index. Tier 1
    /// is the name prefixes that are not repository-part prefixes plus the repository-part prefixes, disjoint
    /// as in the counts, so UNION ALL needs no de-duplication before the sort.
    /// </summary>
    private static readonly string[] CollectSql =
    [
        Entries("""
            SELECT order_key FROM search_repositories INDEXED BY ix_search_repo_lower WHERE repo_lower = @term AND order_key >= @after
            ORDER BY order_key LIMIT @limit OFFSET @offset
            """),
        Entries("""
            SELECT order_key FROM (
                SELECT order_key FROM search_repositories INDEXED BY ix_search_name_lower
                WHERE name_lower >= @term AND name_lower < @upper AND NOT (repo_lower >= @term AND repo_lower < @upper)
                  AND order_key >= @after
                UNION ALL
                SELECT order_key FROM search_repositories INDEXED BY ix_search_repo_lower
                WHERE repo_lower >= @term AND repo_lower < @upper AND repo_lower <> @term AND order_key >= @after)
            ORDER BY order_key LIMIT @limit OFFSET @offset
            """),
    ];

    /// <summary>
    /// Tiers 2 and 3 for 3+ characters, in full-text rowid (= result) order. The name tier drops the prefix
    /// matches through the covering ordering index, with the same key ranges as the counts; the description
    /// tier is the full-text expression alone, exactly what its count counts.
    /// </summary>
    private static readonly string[] FullTextSql =
    [
        Entries("""
            SELECT search_fts.rowid FROM search_fts CROSS JOIN search_repositories r INDEXED BY ix_search_order
                ON r.order_key = search_fts.rowid
            WHERE search_fts MATCH @name AND search_fts.rowid >= @after
              AND NOT (r.name_lower >= @term AND r.name_lower < @upper) AND NOT (r.repo_lower >= @term AND r.repo_lower < @upper)
            ORDER BY search_fts.rowid LIMIT @limit OFFSET @offset
            """),
        Entries("""
            SELECT rowid FROM search_fts WHERE search_fts MATCH @descriptionOnly AND rowid >= @after
            ORDER BY rowid LIMIT @limit OFFSET @offset
            """),
    ];

    /// <summary>
    /// Walks in result order. The prefix tests are the same key ranges as the counts use, so that a tier
    /// holds exactly as many rows as counted. A row of a name tier contains the term in its name, so the walk
    /// first tests the characters (<see cref="NameMask"/>, read from the ordering index next to the key) and
    /// decodes and compares the names only of the rows that pass; for a rare character that skips almost
    /// every row cheaply. The description-only tier walks the described rows alone.
    /// </summary>
    private static readonly string[] WalkSql = [.. Enumerable.Range(0, 4).Select(tier => Entries($"""
        SELECT order_key FROM search_repositories INDEXED BY {(tier == 3 ? "ix_search_described" : "ix_search_order")}
        WHERE order_key >= @after AND {(tier == 3 ? "" : "(name_mask & @mask) = @mask AND ")}{tier switch
        {
            0 => "repo_lower = @term",
            1 => "((name_lower >= @term AND name_lower < @upper) OR (repo_lower >= @term AND repo_lower < @upper)) AND repo_lower <> @term",
            2 => "instr(name_lower, @term) > 0 AND NOT (name_lower >= @term AND name_lower < @upper) AND NOT (repo_lower >= @term AND repo_lower < @upper)",
            _ => "description_lower <> '' AND instr(name_lower, @term) = 0 AND instr(description_lower, @term) > 0",
        }}
        ORDER BY order_key LIMIT @limit OFFSET @offset
        """))];
}
