using Dapper;
using Microsoft.Data.Sqlite;

namespace Registry.Index.Search;

/// <summary>
/// Private repositories, kept out of the shared search index and searched here on behalf of the users who
/// may read them (their owner, admins). Private repositories are few, so a scan with <c>instr()</c> over
/// lower-cased copies is enough; the table lives in the index database beside the search tables.
/// </summary>
public sealed class PrivateSearchIndex
{
    private readonly string _connectionString;

    private PrivateSearchIndex(string connectionString) => _connectionString = connectionString;

    public static async Task<PrivateSearchIndex> OpenAsync(string databasePath, CancellationToken ct)
    {
        var store = new PrivateSearchIndex(IndexDatabase.ConnectionString(databasePath));
        await using var connection = await store.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            CREATE TABLE IF NOT EXISTS registry_private_repositories (
                name              TEXT PRIMARY KEY NOT NULL,
                namespace         TEXT NOT NULL,
                description       TEXT NOT NULL,
                name_lower        TEXT NOT NULL,
                description_lower TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS registry_private_repositories_ns ON registry_private_repositories (namespace);
            """, cancellationToken: ct));
        return store;
    }

    public async Task UpsertAsync(string name, string description, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO registry_private_repositories (name, namespace, description, name_lower, description_lower)
            VALUES (@name, @ns, @description, @nameLower, @descriptionLower)
            ON CONFLICT (name) DO UPDATE SET description = excluded.description, description_lower = excluded.description_lower
            """, new
        {
            name,
            ns = name[..Math.Max(0, name.IndexOf('/'))],
            description,
            nameLower = name.ToLowerInvariant(),
            descriptionLower = description.ToLowerInvariant(),
        }, cancellationToken: ct));
    }

    public async Task RemoveAsync(string name, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_private_repositories WHERE name = @name", new { name }, cancellationToken: ct));
    }

    public async Task ReplaceAllAsync(IEnumerable<SearchEntry> entries, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_private_repositories", cancellationToken: ct));
        foreach (var entry in entries) await UpsertAsync(entry.Name, entry.Description, ct);
    }

    /// <summary>
    /// The private repositories matching <paramref name="query"/> that <paramref name="owner"/> owns (or all of
    /// them when <paramref name="everyone"/>), in the search's relevance order.
    /// </summary>
    public async Task<IReadOnlyList<SearchEntry>> SearchAsync(string query, string? owner, bool everyone, CancellationToken ct)
    {
        if (owner is null && !everyone) return [];
        var term = query.ToLowerInvariant();
        await using var connection = await OpenAsync(ct);
        var rows = await connection.QueryAsync<(string Name, string Description, string NameLower, string DescriptionLower)>(new CommandDefinition("""
            SELECT name, description, name_lower, description_lower FROM registry_private_repositories
             WHERE (@everyone OR namespace = @owner) AND (instr(name_lower, @term) > 0 OR instr(description_lower, @term) > 0)
            """, new { term, owner, everyone }, cancellationToken: ct));
        return rows
            .OrderBy(r => Tier(r.NameLower, r.DescriptionLower, term))
            .ThenBy(r => r.Name, StringComparer.Ordinal)
            .Select(r => new SearchEntry(r.Name, r.Description))
            .ToList();
    }

    /// <summary>The relevance tier of spec §3.7.6 (0 exact repository part, 1 prefix, 2 name, 3 description only).</summary>
    internal static int Tier(string nameLower, string descriptionLower, string term)
    {
        var repository = nameLower[(nameLower.IndexOf('/') + 1)..];
        if (repository == term) return 0;
        if (nameLower.StartsWith(term, StringComparison.Ordinal) || repository.StartsWith(term, StringComparison.Ordinal)) return 1;
        return nameLower.Contains(term, StringComparison.Ordinal) ? 2 : 3;
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken ct) => IndexDatabase.OpenAsync(_connectionString, ct);
}
