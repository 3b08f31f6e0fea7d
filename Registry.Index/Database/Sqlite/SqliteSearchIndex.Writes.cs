using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;
using Registry.Index.Search;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// Writes of single repositories. Each runs in one write transaction that also places the row in result order
/// (its order key) and moves the short-term counts by the row's change; the tier counts cached for the version
/// before the write are carried over to the version after it.
/// </summary>
public sealed partial class SqliteSearchIndex
{
    /// <inheritdoc />
    public Task AddRepositoryAsync(string name, CancellationToken ct) => WriteAsync(name, null, remove: false, ct);

    /// <inheritdoc />
    public Task SetDescriptionAsync(string name, string description, CancellationToken ct) =>
        WriteAsync(name, description ?? "", remove: false, ct);

    /// <inheritdoc />
    public Task RemoveRepositoryAsync(string name, CancellationToken ct) => WriteAsync(name, null, remove: true, ct);

    private async Task WriteAsync(string name, string? description, bool remove, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(name);
        await GuardAsync(async () =>
        {
            await using var connection = await OpenConnectionAsync(ct);
            using var transaction = BeginWrite(connection);
            var versionBefore = await ReadVersionAsync(connection, transaction, ct);
            var existing = await connection.QuerySingleOrDefaultAsync<StoredRow>(new CommandDefinition(
                "SELECT id AS Id, description AS Description, star_count AS StarCount, order_key AS OrderKey FROM search_repositories WHERE name = @name",
                new { name }, transaction, cancellationToken: ct));
            var before = existing is null ? null : SearchRow.From(name, existing.Description, (int)existing.StarCount);
            var after = remove
                ? null
                : SearchRow.From(name, description ?? existing?.Description ?? "", (int)(existing?.StarCount ?? await StarsAsync(connection, transaction, name, ct)));
            if (before == after)
            {
                return;
            }

            var renumbered = false;
            var keyAfter = existing?.OrderKey ?? 0;
            if (after is null)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "DELETE FROM search_repositories WHERE id = @Id", new { existing!.Id }, transaction, cancellationToken: ct));
            }
            else if (before is null)
            {
                (var orderKey, renumbered) = await PlaceAsync(connection, transaction, after.Name, after.StarCount, ct);
                keyAfter = orderKey;
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO search_repositories(name, description, star_count, name_lower, repo_lower, description_lower, order_key, name_mask)
                    VALUES (@Name, @Description, @StarCount, @NameLower, @RepoLower, @DescriptionLower, @orderKey, @nameMask)
                    """, new { after.Name, after.Description, after.StarCount, after.NameLower, after.RepoLower, after.DescriptionLower, orderKey, nameMask = NameMask.Of(after.NameLower) },
                    transaction, cancellationToken: ct));
            }
            else
            {
                await connection.ExecuteAsync(new CommandDefinition("""
                    UPDATE search_repositories SET description = @Description, description_lower = @DescriptionLower
                    WHERE id = @Id
                    """, new { existing!.Id, after.Description, after.DescriptionLower }, transaction, cancellationToken: ct));
            }

            var deltas = new Dictionary<long, TermCounts>();
            var scratch = new ShortTermCounts.Scratch();
            if (before is not null)
            {
                ShortTermCounts.Add(deltas, before.NameLower, before.RepoLower, before.DescriptionLower, -1, scratch);
            }

            if (after is not null)
            {
                ShortTermCounts.Add(deltas, after.NameLower, after.RepoLower, after.DescriptionLower, +1, scratch);
            }

            ApplyTermDeltas(connection, transaction, deltas);
            var versionAfter = await ReadVersionAsync(connection, transaction, ct);
            transaction.Commit();
            _counts.CarryOver(
                versionBefore, versionAfter,
                term => TierOf(before, term) is { } tierBefore && TierOf(after, term) is { } tierAfter
                    ? new RowMove(tierBefore, existing?.OrderKey ?? 0, tierAfter, keyAfter)
                    : null,
                (after is null ? 0 : 1) - (before is null ? 0 : 1), renumbered);
        });
    }

    /// <summary>
    /// The order key for a new row: the middle of the gap between its neighbours in result order (SQLite
    /// compares, so the order is exactly the one searches use). When the gap is used up, the rows around it
    /// are spread evenly over a wider span first (<see cref="RenumberAsync"/>), which the second value tells.
    /// Runs in the write transaction.
    /// </summary>
    private static async Task<(long OrderKey, bool Renumbered)> PlaceAsync(
        SqliteConnection connection, SqliteTransaction transaction, string name, int starCount, CancellationToken ct)
    {
        async Task<long?> KeyAsync(string sql) => await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT order_key FROM search_repositories INDEXED BY ix_search_rank " + sql,
            new { name, stars = starCount }, transaction, cancellationToken: ct));

        var previous = await KeyAsync("WHERE star_count = @stars AND name < @name ORDER BY star_count DESC, name DESC LIMIT 1")
            ?? await KeyAsync("WHERE star_count > @stars ORDER BY star_count, name DESC LIMIT 1");
        var next = await KeyAsync("WHERE star_count = @stars AND name > @name ORDER BY star_count DESC, name LIMIT 1")
            ?? await KeyAsync("WHERE star_count < @stars ORDER BY star_count DESC, name LIMIT 1");
        return (previous, next) switch
        {
            (null, null) => (SearchSchema.OrderKeyGap, false),
            (null, { } n) => (n - SearchSchema.OrderKeyGap, false),
            ({ } p, null) => (p + SearchSchema.OrderKeyGap, false),
            ({ } p, { } n) when n - p >= 2 => (p + (n - p) / 2, false),
            ({ } p, { } n) => (await RenumberAsync(connection, transaction, p, n, ct), true),
        };
    }

    /// <summary>
    /// Makes room between two adjacent keys: the nearest rows on either side (more each round, until the span
    /// they share with the new row leaves a gap of 2 or more) get evenly spaced keys, in the same order, and
    /// the key of the new row's slot is returned. Rows outside the window keep their keys, so the new keys,
    /// strictly between the window's bounds, can collide only with keys of the window itself; rows moving
    /// down are moved lowest first and rows moving up highest first, so no row ever takes a key still held.
    /// </summary>
    private static async Task<long> RenumberAsync(
        SqliteConnection connection, SqliteTransaction transaction, long previous, long next, CancellationToken ct)
    {
        for (var reach = 32; ; reach *= 2)
        {
            var below = (await connection.QueryAsync<long>(new CommandDefinition(
                "SELECT order_key FROM search_repositories INDEXED BY ix_search_order WHERE order_key <= @previous ORDER BY order_key DESC LIMIT @n",
                new { previous, n = reach + 1 }, transaction, cancellationToken: ct))).ToList();
            var above = (await connection.QueryAsync<long>(new CommandDefinition(
                "SELECT order_key FROM search_repositories INDEXED BY ix_search_order WHERE order_key >= @next ORDER BY order_key LIMIT @n",
                new { next, n = reach + 1 }, transaction, cancellationToken: ct))).ToList();
            var window = below.Take(reach).Reverse().Concat(above.Take(reach)).ToList();
            var slots = window.Count + 1;
            // A side that reaches the first or last row is open: it extends by a gap per slot.
            var low = below.Count > reach ? below[reach] : below[^1] - SearchSchema.OrderKeyGap * slots;
            var high = above.Count > reach ? above[reach] : above[^1] + SearchSchema.OrderKeyGap * slots;
            var step = (high - low) / (slots + 1);
            if (step < 2)
            {
                continue;
            }

            var newRow = Math.Min(reach, below.Count);
            var moves = new List<(long From, long To)>(window.Count);
            for (var i = 0; i < window.Count; i++)
            {
                var slot = i < newRow ? i : i + 1;
                moves.Add((window[i], low + step * (slot + 1)));
            }

            var ordered = moves.Where(m => m.To < m.From).OrderBy(m => m.From)
                .Concat(moves.Where(m => m.To > m.From).OrderByDescending(m => m.From));
            foreach (var (from, to) in ordered)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE search_repositories SET order_key = @to WHERE order_key = @from",
                    new { from, to }, transaction, cancellationToken: ct));
            }

            return low + step * (newRow + 1);
        }
    }

    /// <summary>A row listed anew (again after a deletion, or public again) takes the stars its repository kept (<see cref="SqliteHubStore"/>).</summary>
    private static Task<long> StarsAsync(SqliteConnection connection, SqliteTransaction transaction, string name, CancellationToken ct) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM registry_stars WHERE repository = @key",
            new { key = Hub.HubNames.StarKeyOf(name) }, transaction, cancellationToken: ct));

    private static Task<long> ReadVersionAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(SearchSchema.ReadVersion, transaction: transaction, cancellationToken: ct));

    /// <summary>
    /// The row's tier for <paramref name="term"/> as the search's counts and tier queries define it (-1: no match
    /// or no row), compared as SQLite sees the text: UTF-8, in which a lone surrogate has become U+FFFD, and
    /// binary order, in which the prefix range [term, term + U+10FFFF) is "starts with the term" for every text
    /// without U+10FFFF. A row holding U+10FFFF gives null: the caller counts that term again.
    /// </summary>
    private static int? TierOf(SearchRow? row, string term)
    {
        if (row is null) return -1;
        var name = AsStored(row.NameLower);
        if (name.Contains("􏿿", StringComparison.Ordinal)) return null;
        var repo = AsStored(row.RepoLower);
        var stored = AsStored(term);
        // The empty term has no exact tier (its count is 0): every row is a prefix match.
        if (stored.Length > 0 && repo == stored) return 0;
        if (name.StartsWith(stored, StringComparison.Ordinal) || repo.StartsWith(stored, StringComparison.Ordinal)) return 1;
        if (name.Contains(stored, StringComparison.Ordinal)) return 2;
        return AsStored(row.DescriptionLower).Contains(stored, StringComparison.Ordinal) ? 3 : -1;
    }

    private static string AsStored(string text) =>
        text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0 ? text : Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));

    private static void ApplyTermDeltas(
        SqliteConnection connection, SqliteTransaction transaction, Dictionary<long, TermCounts> deltas)
    {
        // Up to a hundred terms per write: one prepared statement beats a Dapper call per term.
        using var upsert = connection.CreateCommand();
        upsert.Transaction = transaction;
        upsert.CommandText = """
            INSERT INTO search_short_terms(term, n_any, n_name, n_prefix) VALUES ($term, $any, $name, $prefix)
            ON CONFLICT(term) DO UPDATE SET
                n_any = n_any + excluded.n_any, n_name = n_name + excluded.n_name, n_prefix = n_prefix + excluded.n_prefix
            """;
        var term = upsert.Parameters.Add("$term", SqliteType.Text);
        var any = upsert.Parameters.Add("$any", SqliteType.Integer);
        var inName = upsert.Parameters.Add("$name", SqliteType.Integer);
        var prefix = upsert.Parameters.Add("$prefix", SqliteType.Integer);
        upsert.Prepare();

        using var prune = connection.CreateCommand();
        prune.Transaction = transaction;
        prune.CommandText = "DELETE FROM search_short_terms WHERE term = $term AND term <> '' AND n_any = 0";
        var pruneTerm = prune.Parameters.Add("$term", SqliteType.Text);

        foreach (var (key, delta) in deltas)
        {
            if (delta.IsZero)
            {
                continue;
            }

            term.Value = ShortTermCounts.Decode(key);
            any.Value = delta.Any;
            inName.Value = delta.Name;
            prefix.Value = delta.Prefix;
            upsert.ExecuteNonQuery();
            if (delta.Any < 0)
            {
                pruneTerm.Value = term.Value;
                prune.ExecuteNonQuery();
            }
        }
    }

    private sealed record StoredRow(long Id, string Description, long StarCount, long OrderKey);
}
