using Dapper;
using Microsoft.Data.Sqlite;
using Registry.Index.Search;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// Loads a whole set of rows inside the caller's transaction: the derived structures (secondary indexes,
/// full-text index, triggers) are dropped first and built once at the end, which is several times faster
/// than maintaining them row by row.
/// </summary>
internal static class SearchBulkLoader
{
    public static async Task LoadAsync(
        SqliteConnection connection, SqliteTransaction transaction, IEnumerable<SearchEntry> entries,
        CancellationToken ct)
    {
        // Last one wins for a repeated name, as successive writes would.
        var byName = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            byName[entry.Name] = entry;
        }

        var rows = byName.Values.ToArray();
        // Name order makes the unique name index grow at its end instead of splitting pages everywhere.
        Array.Sort(rows, (a, b) => string.CompareOrdinal(a.Name, b.Name));

        await connection.ExecuteAsync(new CommandDefinition(
            SearchSchema.DropDerived + SearchSchema.DropIndexes +
            "DELETE FROM search_repositories; DELETE FROM search_short_terms;",
            transaction: transaction, cancellationToken: ct));

        var counts = new Dictionary<long, TermCounts>();
        var scratch = new ShortTermCounts.Scratch();

        // One prepared statement reused for every row; Dapper would re-prepare per call.
        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO search_repositories(name, description, star_count, name_lower, repo_lower, description_lower, name_mask)
                VALUES ($name, $description, $stars, $nameLower, $repoLower, $descriptionLower, $nameMask)
                """;
            var name = insert.Parameters.Add("$name", SqliteType.Text);
            var description = insert.Parameters.Add("$description", SqliteType.Text);
            var stars = insert.Parameters.Add("$stars", SqliteType.Integer);
            var nameLower = insert.Parameters.Add("$nameLower", SqliteType.Text);
            var repoLower = insert.Parameters.Add("$repoLower", SqliteType.Text);
            var descriptionLower = insert.Parameters.Add("$descriptionLower", SqliteType.Text);
            var nameMask = insert.Parameters.Add("$nameMask", SqliteType.Integer);
            insert.Prepare();

            for (var i = 0; i < rows.Length; i++)
            {
                if (i % 10_000 == 0)
                {
                    ct.ThrowIfCancellationRequested();
                }

                var row = SearchRow.From(rows[i].Name, rows[i].Description, rows[i].StarCount);
                name.Value = row.Name;
                description.Value = row.Description;
                stars.Value = row.StarCount;
                nameLower.Value = row.NameLower;
                repoLower.Value = row.RepoLower;
                descriptionLower.Value = row.DescriptionLower;
                nameMask.Value = NameMask.Of(row.NameLower);
                insert.ExecuteNonQuery();
                ShortTermCounts.Add(counts, row.NameLower, row.RepoLower, row.DescriptionLower, +1, scratch);
            }
        }

        ct.ThrowIfCancellationRequested();
        await connection.ExecuteAsync(new CommandDefinition(
            SearchSchema.AssignOrderKeys + SearchSchema.CreateDerived,
            transaction: transaction, cancellationToken: ct));

        // The empty term counts every row, also when there are none.
        counts.TryAdd(0, default);
        using var insertTerm = connection.CreateCommand();
        insertTerm.Transaction = transaction;
        insertTerm.CommandText =
            "INSERT INTO search_short_terms(term, n_any, n_name, n_prefix) VALUES ($term, $any, $name, $prefix)";
        var term = insertTerm.Parameters.Add("$term", SqliteType.Text);
        var any = insertTerm.Parameters.Add("$any", SqliteType.Integer);
        var inName = insertTerm.Parameters.Add("$name", SqliteType.Integer);
        var prefix = insertTerm.Parameters.Add("$prefix", SqliteType.Integer);
        insertTerm.Prepare();
        foreach (var (key, value) in counts)
        {
            term.Value = ShortTermCounts.Decode(key);
            any.Value = value.Any;
            inName.Value = value.Name;
            prefix.Value = value.Prefix;
            insertTerm.ExecuteNonQuery();
        }
    }
}

/// <summary>A row with the lower-cased copies that matching reads.</summary>
internal sealed record SearchRow(
    string Name, string Description, int StarCount, string NameLower, string RepoLower, string DescriptionLower)
{
    /// <summary>
    /// Lower-casing is .NET's invariant mapping, applied to the stored copies and to the query alike, so
    /// matching is case-insensitive for all of Unicode rather than for ASCII only as SQLite's lower() is.
    /// </summary>
    public static SearchRow From(string name, string description, int starCount)
    {
        var nameLower = name.ToLowerInvariant();
        return new SearchRow(
            name, description, starCount, nameLower, RepositoryPart(nameLower), description.ToLowerInvariant());
    }

    /// <summary>The part after the first '/'; the whole name when it has none.</summary>
    public static string RepositoryPart(string name)
    {
        var slash = name.IndexOf('/');
        return slash < 0 ? name : name[(slash + 1)..];
    }
}
