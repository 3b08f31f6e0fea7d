using Dapper;
using Microsoft.Data.Sqlite;

namespace Registry.Index.Search;

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
/// terms (and "") from the counters kept by every write. The page is then cut out of the tiers it overlaps.
/// Per tier, the cheaper of two plans is taken: collect every candidate from an index and sort them, or
/// walk the index that is already in result order and filter until the page is full.
/// </summary>
public sealed partial class SqliteSearchIndex
{
    /// <summary>
    /// What collecting and sorting one candidate costs, in steps of the ordered walk: from a covering
    /// prefix index (tiers 0-1) it is an index entry plus the sort; from the full-text index (tiers 2-3) a
    /// row lookup is added. Measured on the benchmark data.
    /// </summary>
    private const double IndexCandidateCost = 3;

    private const double FullTextCandidateCost = 8;

    /// <inheritdoc />
    public Task<SearchPage> SearchAsync(string query, int pageSize, int page, CancellationToken ct) =>
        GuardAsync(async () =>
        {
            await using var connection = await OpenConnectionAsync(ct);
            // One read snapshot for the counts and the page, so that they agree under concurrent writes.
            using var snapshot = connection.BeginTransaction(deferred: true);
            var run = new SearchRun(connection, snapshot, (query ?? "").ToLowerInvariant(), ct);
            var offset = (long)(page - 1) * pageSize;
            return await run.PageAsync(offset, pageSize);
        });

    private sealed class SearchRun(SqliteConnection connection, SqliteTransaction snapshot, string term, CancellationToken ct)
    {
        private readonly int _length = ShortTermCounts.RuneLength(term);

        // Every key that starts with the term sorts in [term, term + U+10FFFF); only keys that continue
        // with the noncharacter U+10FFFF itself are missed.
        private readonly string _upper = term + "\U0010FFFF";

        // In an FTS5 string only a doubled quote is special, so this makes any user text a literal phrase.
        private string Phrase => "\"" + term.Replace("\"", "\"\"") + "\"";

        private bool Trigram => _length >= 3;

        public async Task<SearchPage> PageAsync(long offset, int pageSize)
        {
            var rows = await ScalarAsync("SELECT n_any FROM search_short_terms WHERE term = ''");
            TermCounts counts;
            if (Trigram)
            {
                counts.Any = await ScalarAsync(
                    "SELECT count(*) FROM search_fts WHERE search_fts MATCH @match", new { match = Phrase });
                counts.Prefix = counts.Any == 0 ? 0 : await ScalarAsync("""
                    SELECT count(*) FROM (
                        SELECT id FROM search_repositories WHERE name_lower >= @term AND name_lower < @upper
                        UNION
                        SELECT id FROM search_repositories WHERE repo_lower >= @term AND repo_lower < @upper)
                    """, new { term, upper = _upper });
                // Only needed when the page reaches past the prefix tiers.
                counts.Name = offset + pageSize <= counts.Prefix
                    ? counts.Prefix
                    : await ScalarAsync("SELECT count(*) FROM search_fts WHERE search_fts MATCH @match",
                        new { match = "name_t : " + Phrase });
            }
            else
            {
                counts = await connection.QuerySingleOrDefaultAsync<TermCountsRow>(new CommandDefinition(
                    "SELECT n_any AS Any, n_name AS Name, n_prefix AS Prefix FROM search_short_terms WHERE term = @term",
                    new { term }, snapshot, cancellationToken: ct)) is { } row
                    ? new TermCounts { Any = row.Any, Name = row.Name, Prefix = row.Prefix }
                    : default;
            }

            if (offset >= counts.Any)
            {
                return new SearchPage(counts.Any, []);
            }

            var exact = term.Length == 0
                ? 0
                : await ScalarAsync("SELECT count(*) FROM search_repositories WHERE repo_lower = @term", new { term });
            long[] tiers = [exact, counts.Prefix - exact, counts.Name - counts.Prefix, counts.Any - counts.Name];

            var names = new List<string>(pageSize);
            long start = 0;
            for (var tier = 0; tier < tiers.Length && names.Count < pageSize; tier++)
            {
                var end = start + tiers[tier];
                var from = offset + names.Count;
                if (from < end)
                {
                    var limit = (int)Math.Min(pageSize - names.Count, end - from);
                    names.AddRange(await TierAsync(tier, from - start, limit, tiers[tier], rows));
                }

                start = end;
            }

            return new SearchPage(counts.Any, await EntriesAsync(names));
        }

        private async Task<IEnumerable<string>> TierAsync(int tier, long offset, int limit, long size, long rows)
        {
            var walkCost = (offset + limit) * (double)rows / size;
            var collectCost = size * (tier <= 1 ? IndexCandidateCost : FullTextCandidateCost);
            var canCollect = tier <= 1 || Trigram;
            var sql = canCollect && (tier == 0 || collectCost <= walkCost) ? CollectSql(tier) : WalkSql(tier);
            return await connection.QueryAsync<string>(new CommandDefinition(sql, new
            {
                term,
                upper = _upper,
                length = _length,
                name = "name_t : " + Phrase,
                descriptionOnly = $"desc_t : {Phrase} NOT name_t : {Phrase}",
                limit,
                offset,
            }, snapshot, cancellationToken: ct));
        }

        private static string CollectSql(int tier) => tier switch
        {
            0 => """
                SELECT name FROM search_repositories INDEXED BY ix_search_repo_lower WHERE repo_lower = @term
                ORDER BY star_count DESC, name LIMIT @limit OFFSET @offset
                """,
            1 => """
                SELECT name FROM (
                    SELECT name, star_count FROM search_repositories INDEXED BY ix_search_name_lower
                    WHERE name_lower >= @term AND name_lower < @upper AND repo_lower <> @term
                    UNION
                    SELECT name, star_count FROM search_repositories INDEXED BY ix_search_repo_lower
                    WHERE repo_lower >= @term AND repo_lower < @upper AND repo_lower <> @term)
                ORDER BY star_count DESC, name LIMIT @limit OFFSET @offset
                """,
            // instr() re-checks each candidate against the stored text itself.
            2 => """
                SELECT r.name FROM search_fts CROSS JOIN search_repositories r ON r.id = search_fts.rowid
                WHERE search_fts MATCH @name AND instr(r.name_lower, @term) > 0
                  AND substr(r.name_lower, 1, @length) <> @term AND substr(r.repo_lower, 1, @length) <> @term
                ORDER BY r.star_count DESC, r.name LIMIT @limit OFFSET @offset
                """,
            _ => """
                SELECT r.name FROM search_fts CROSS JOIN search_repositories r ON r.id = search_fts.rowid
                WHERE search_fts MATCH @descriptionOnly
                  AND instr(r.description_lower, @term) > 0 AND instr(r.name_lower, @term) = 0
                ORDER BY r.star_count DESC, r.name LIMIT @limit OFFSET @offset
                """,
        };

        private static string WalkSql(int tier) => $"""
            SELECT name FROM search_repositories INDEXED BY ix_search_order
            WHERE {tier switch
            {
                1 => "(substr(name_lower, 1, @length) = @term OR substr(repo_lower, 1, @length) = @term) AND repo_lower <> @term",
                2 => "instr(name_lower, @term) > 0 AND substr(name_lower, 1, @length) <> @term AND substr(repo_lower, 1, @length) <> @term",
                _ => "instr(name_lower, @term) = 0 AND instr(description_lower, @term) > 0",
            }}
            ORDER BY star_count DESC, name LIMIT @limit OFFSET @offset
            """;

        private async Task<IReadOnlyList<SearchEntry>> EntriesAsync(List<string> names)
        {
            if (names.Count == 0)
            {
                return [];
            }

            var rows = (await connection.QueryAsync<EntryRow>(new CommandDefinition(
                "SELECT name AS Name, description AS Description, star_count AS StarCount FROM search_repositories WHERE name IN @names",
                new { names }, snapshot, cancellationToken: ct)))
                .ToDictionary(row => row.Name, StringComparer.Ordinal);
            return names.Select(name => rows[name]).Select(row => new SearchEntry(row.Name, row.Description, (int)row.StarCount))
                .ToList();
        }

        private Task<long> ScalarAsync(string sql, object? parameters = null) =>
            connection.ExecuteScalarAsync<long>(new CommandDefinition(sql, parameters, snapshot, cancellationToken: ct));
    }

    private sealed record TermCountsRow(long Any, long Name, long Prefix);

    private sealed record EntryRow(string Name, string Description, long StarCount);
}
