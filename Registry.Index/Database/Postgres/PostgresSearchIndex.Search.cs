using System.Data;
using System.Text;
using Dapper;
using Registry.Index.Search;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// Search. A match is a literal, case-insensitive substring of the lower-cased name or description (a
/// <c>LIKE</c> whose wildcards in the term are escaped). Matches fall into four tiers, each ordered by star
/// count descending then name by code point (a total order, names are unique):
/// <list type="number">
/// <item>0: the repository part equals the term;</item>
/// <item>1: the name or the repository part starts with the term (and not tier 0);</item>
/// <item>2: the name contains the term elsewhere;</item>
/// <item>3: only the description contains it.</item>
/// </list>
/// Each tier is a difference of nested sets (exact ⊆ prefix ⊆ name ⊆ match), so the four sizes follow from four
/// counts, which <see cref="PostgresSearchCounts"/> keeps per generation of the rows: paging through a term
/// or repeating it counts once per write, in whichever instance. The page is then cut out of the tiers it
/// overlaps, each tier read in result order (<c>sort_key</c>) with its own OFFSET and LIMIT, so a frequent term
/// walks the ordering index and stops when the page is full and a rare one sorts its few matches from the
/// trigram or prefix indexes; the planner picks. A page deeper than <see cref="PostgresSearchCounts.Spacing"/>
/// rows into a tier starts from the sort key of a position kept for that tier (<see cref="PostgresSearchPositions"/>),
/// so that the walk or the sort covers one or two intervals of that spacing, not everything before the page.
/// A tier of at most <see cref="PostgresSearchTierKeys.MaxSize"/> rows is read whole, its keys kept
/// (<see cref="PostgresSearchTierKeys"/>), and its pages are then read by key: a rare term pays its trigram scans once.
/// Everything is read in one repeatable-read snapshot, so the total and the page agree with the generation
/// the counts and positions are kept under. Counts of an older generation are brought up to date from the change
/// log (<see cref="PostgresSearchChanges"/>), and so are positions (<see cref="PostgresSearchPositions.Adjust"/>). With the page cache on,
/// a repeated page is answered without the database while no change was notified (<see cref="PostgresSearchPageCache"/>).
/// </summary>
internal sealed partial class PostgresSearchIndex
{
    // Terms are lower-cased by .NET and compared with the columns lower-cased the same way (see the migration).
    // COLLATE "C" orders names by code point, whatever the database's default collation.
    private const string PrefixSql = @"(name_lower LIKE @prefix ESCAPE '\' OR repo_lower LIKE @prefix ESCAPE '\')";

    private const string CountsSql = $"""
        SELECT count(*) FILTER (WHERE repo_lower = @term) AS Exact,
               count(*) FILTER (WHERE {PrefixSql}) AS Prefix,
               count(*) FILTER (WHERE name_lower LIKE @contains ESCAPE '\') AS Name,
               count(*) AS Matches
          FROM search_repositories
         WHERE name_lower LIKE @contains ESCAPE '\' OR description_lower LIKE @contains ESCAPE '\'
        """;

    /// <summary>The rows of each tier, exactly the sets the counts count (tier 0 rows are prefix rows too).</summary>
    private static readonly string[] TierFilterSql =
    [
        "repo_lower = @term",
        $"{PrefixSql} AND repo_lower <> @term",
        $@"name_lower LIKE @contains ESCAPE '\' AND NOT {PrefixSql}",
        // A description-only match is a described row: the condition lets the planner use the partial index.
        @"description_lower <> '' AND description_lower LIKE @contains ESCAPE '\' AND name_lower NOT LIKE @contains ESCAPE '\'",
    ];

    /// <summary>Every <see cref="PostgresSearchCounts.Spacing"/>th sort key of a tier, from its first.</summary>
    private const string PositionsSql = """
        SELECT sort_key FROM (
            SELECT sort_key, row_number() OVER (ORDER BY sort_key) AS n FROM search_repositories WHERE {0}) AS tier
         WHERE n % @spacing = 1 ORDER BY sort_key
        """;

    /// <inheritdoc />
    public Task<SearchPage> SearchAsync(string query, int pageSize, int page, CancellationToken ct) =>
        SearchRangeAsync(query, (long)(page - 1) * pageSize, pageSize, ct);

    /// <inheritdoc />
    public async Task<SearchPage> SearchRangeAsync(string query, long offset, int limit, CancellationToken ct)
    {
        var term = (query ?? "").ToLowerInvariant();
        if (cache?.Get(term, offset, limit) is { } cached) return cached;
        var escaped = EscapeLike(term);
        var parameters = new DynamicParameters(new { term, prefix = escaped + "%", contains = "%" + escaped + "%" });
        return await database.RunAsync(async connection =>
        {
            await using var snapshot = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
            var generation = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT generation FROM search_generation WHERE id = 0", transaction: snapshot, cancellationToken: ct));
            // Changes since an older generation, read at most once per search (counts and positions usually share it).
            var logs = new Dictionary<long, IReadOnlyList<PostgresSearchChanges.Change>?>();
            async Task<IReadOnlyList<PostgresSearchChanges.Change>?> ChangesSinceAsync(long older)
            {
                if (!logs.TryGetValue(older, out var changes))
                    logs[older] = changes = await PostgresSearchChanges.ReadAsync(connection, snapshot, older, generation, ct);
                return changes;
            }

            var counts = _counts.Find(term, generation);
            if (counts is null && _counts.FindOlder(term, generation) is var (older, olderCounts)
                && await ChangesSinceAsync(older) is { } changes)
            {
                counts = PostgresSearchChanges.Apply(olderCounts, term, changes);
                _counts.Keep(term, generation, counts);
            }

            if (counts is null)
            {
                counts = await connection.QuerySingleAsync<PostgresSearchCounts.TierCounts>(new CommandDefinition(
                    CountsSql, parameters, snapshot, cancellationToken: ct));
                _counts.Keep(term, generation, counts);
            }

            async Task<PostgresSearchPositions> PositionsAsync(int tier)
            {
                if (_counts.FindPositions(term, tier, generation) is var (kept, positions))
                {
                    if (kept == generation) return positions;
                    if (await ChangesSinceAsync(kept) is { } changes
                        && positions.Adjust(term, tier, counts.TierSize(tier), changes) is { } adjusted)
                    {
                        _counts.KeepPositions(term, tier, generation, adjusted);
                        return adjusted;
                    }
                }

                parameters.Add("spacing", PostgresSearchCounts.Spacing);
                var found = PostgresSearchPositions.Found((await connection.QueryAsync<string>(new CommandDefinition(
                    string.Format(PositionsSql, TierFilterSql[tier]), parameters, snapshot, cancellationToken: ct))).ToArray());
                _counts.KeepPositions(term, tier, generation, found);
                return found;
            }

            async Task<PostgresSearchTierKeys> TierKeysAsync(int tier, long size)
            {
                if (_counts.FindTierKeys(term, tier, generation) is var (kept, keys))
                {
                    if (kept == generation) return keys;
                    if (await ChangesSinceAsync(kept) is { } changes && keys.Adjust(term, tier, size, changes) is { } adjusted)
                    {
                        _counts.KeepTierKeys(term, tier, generation, adjusted);
                        return adjusted;
                    }
                }

                var found = new PostgresSearchTierKeys((await connection.QueryAsync<string>(new CommandDefinition(
                    $"SELECT sort_key FROM search_repositories WHERE {TierFilterSql[tier]} ORDER BY sort_key",
                    parameters, snapshot, cancellationToken: ct))).ToArray());
                _counts.KeepTierKeys(term, tier, generation, found);
                return found;
            }

            var sql = new StringBuilder();
            long tierStart = 0;
            for (var tier = 0; tier < TierFilterSql.Length; tier++)
            {
                var size = counts.TierSize(tier);
                var from = Math.Max(offset, tierStart);
                var to = Math.Min(offset + Math.Max(0, limit), tierStart + size);
                if (from < to && size <= PostgresSearchTierKeys.MaxSize)
                {
                    parameters.Add($"keys{tier}", (await TierKeysAsync(tier, size)).Slice(from - tierStart, to - from));
                    sql.Append($"""
                        SELECT r.name, r.description, r.star_count
                          FROM unnest(@keys{tier}::text[]) WITH ORDINALITY AS page(sort_key, n)
                          JOIN search_repositories AS r ON r.sort_key = page.sort_key COLLATE "C"
                         ORDER BY page.n;

                        """);
                }
                else if (from < to)
                {
                    var skip = from - tierStart;
                    var range = "";
                    if (skip >= PostgresSearchCounts.Spacing)
                    {
                        var (start, before) = (await PositionsAsync(tier)).Around(skip, to - from);
                        if (start is var (key, rank))
                        {
                            parameters.Add($"from{tier}", key);
                            range = $" AND sort_key >= @from{tier}";
                            skip -= rank;
                        }

                        if (before is not null)
                        {
                            parameters.Add($"to{tier}", before);
                            range += $" AND sort_key < @to{tier}";
                        }
                    }

                    parameters.Add($"offset{tier}", skip);
                    parameters.Add($"limit{tier}", to - from);
                    // The page's keys first, then its rows: a walk then filters on the ordering index alone (it
                    // carries the name columns), and only the rows of the page are read from the table.
                    sql.Append($"""
                        SELECT r.name, r.description, r.star_count
                          FROM (SELECT sort_key FROM search_repositories WHERE {TierFilterSql[tier]}{range}
                                 ORDER BY sort_key OFFSET @offset{tier} LIMIT @limit{tier}) AS page
                          JOIN search_repositories AS r ON r.sort_key = page.sort_key
                         ORDER BY page.sort_key;

                        """);
                }

                tierStart += size;
            }

            var entries = new List<SearchEntry>(Math.Max(0, limit));
            if (sql.Length > 0)
            {
                await using var results = await connection.QueryMultipleAsync(new CommandDefinition(sql.ToString(), parameters, snapshot, cancellationToken: ct));
                while (!results.IsConsumed)
                {
                    foreach (var (name, description, stars) in await results.ReadAsync<(string, string, int)>())
                        entries.Add(new SearchEntry(name, description, stars));
                }
            }

            await snapshot.CommitAsync(ct);
            var result = new SearchPage(counts.Matches, entries);
            cache?.Add(term, offset, limit, generation, result);
            return result;
        }, ct);
    }
}
