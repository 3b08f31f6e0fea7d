using Dapper;
using Microsoft.Data.Sqlite;
using Registry.Index.Search;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// Private repositories in the SQLite index database (the table of <see cref="SqliteMigrations"/> version 7).
/// They are few, so a scan with <c>instr()</c> over lower-cased copies is enough.
/// </summary>
public sealed class SqlitePrivateRepositories(SqliteIndexDatabase database) : IPrivateRepositories
{
    /// <inheritdoc />
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

    /// <inheritdoc />
    public async Task RemoveAsync(string name, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_private_repositories WHERE name = @name", new { name }, cancellationToken: ct));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SearchEntry>> ListAllAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var rows = await connection.QueryAsync<(string Name, string Description)>(new CommandDefinition(
            "SELECT name, description FROM registry_private_repositories ORDER BY name", cancellationToken: ct));
        return rows.Select(r => new SearchEntry(r.Name, r.Description)).ToList();
    }

    /// <inheritdoc />
    public async Task ReplaceAllAsync(IEnumerable<SearchEntry> entries, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_private_repositories", cancellationToken: ct));
        foreach (var entry in entries) await UpsertAsync(entry.Name, entry.Description, ct);
    }

    /// <inheritdoc />
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

    /// <summary>The relevance tier of Docker Hub API, 'Search' (0 exact repository part, 1 prefix, 2 name, 3 description only).</summary>
    internal static int Tier(string nameLower, string descriptionLower, string term)
    {
        var repository = nameLower[(nameLower.IndexOf('/') + 1)..];
        if (repository == term) return 0;
        if (nameLower.StartsWith(term, StringComparison.Ordinal) || repository.StartsWith(term, StringComparison.Ordinal)) return 1;
        return nameLower.Contains(term, StringComparison.Ordinal) ? 2 : 3;
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken ct) => database.OpenConnectionAsync(ct);
}
