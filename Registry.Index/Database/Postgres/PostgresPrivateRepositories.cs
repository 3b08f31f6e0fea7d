using Dapper;
using Registry.Index.Search;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// Private repositories in the PostgreSQL index database (the table of <see cref="PostgresMigrations"/> version 3).
/// They are few, so a scan with <c>strpos()</c> (a literal match: no wildcards to escape) is enough.
/// </summary>
public sealed class PostgresPrivateRepositories(PostgresIndexDatabase database) : IPrivateRepositories
{
    /// <inheritdoc />
    public async Task UpsertAsync(string name, string description, CancellationToken ct)
    {
        await database.RunAsync(async connection =>
        {
            await UpsertAsync(connection, name, description, ct);
        }, ct);
    }

    /// <inheritdoc />
    public async Task RemoveAsync(string name, CancellationToken ct)
    {
        await database.RunAsync(async connection =>
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM registry_private_repositories WHERE name = @name", new { name }, cancellationToken: ct));
        }, ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SearchEntry>> ListAllAsync(CancellationToken ct)
    {
        return await database.RunAsync(async connection =>
        {
            var rows = await connection.QueryAsync<(string Name, string Description)>(new CommandDefinition(
                "SELECT name, description FROM registry_private_repositories ORDER BY name COLLATE \"C\"", cancellationToken: ct));
            return rows.Select(r => new SearchEntry(r.Name, r.Description)).ToList();
        }, ct);
    }

    /// <inheritdoc />
    /// <remarks>One binary COPY, not a statement per row: a registry of a million repositories has thousands of private ones.</remarks>
    public async Task ReplaceAllAsync(IEnumerable<SearchEntry> entries, CancellationToken ct)
    {
        // The last of a repeated name wins, as successive upserts would.
        var latest = new Dictionary<string, SearchEntry>(StringComparer.Ordinal);
        foreach (var entry in entries) latest[entry.Name] = entry;
        await database.RunAsync(async connection =>
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_private_repositories", transaction: tx, cancellationToken: ct));
            await using (var writer = await connection.BeginBinaryImportAsync(
                "COPY registry_private_repositories (name, namespace, description, name_lower, repo_lower, description_lower) FROM STDIN (FORMAT BINARY)", ct))
            {
                foreach (var entry in latest.Values)
                {
                    var row = Row.Of(entry.Name, entry.Description);
                    await writer.StartRowAsync(ct);
                    foreach (var column in new[] { row.Name, row.Namespace, row.Description, row.NameLower, row.RepoLower, row.DescriptionLower })
                        await writer.WriteAsync(column, NpgsqlTypes.NpgsqlDbType.Text, ct);
                }

                await writer.CompleteAsync(ct);
            }

            await tx.CommitAsync(ct);
        }, ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SearchEntry>> SearchAsync(string query, string? owner, bool everyone, CancellationToken ct)
    {
        if (owner is null && !everyone) return [];
        var term = query.ToLowerInvariant();
        return await database.RunAsync(async connection =>
        {
            var rows = await connection.QueryAsync<(string Name, string Description)>(new CommandDefinition("""
                SELECT name, description FROM registry_private_repositories
                 WHERE (@everyone OR namespace = @owner) AND (strpos(name_lower, @term) > 0 OR strpos(description_lower, @term) > 0)
                 ORDER BY CASE WHEN repo_lower = @term THEN 0
                               WHEN starts_with(name_lower, @term) OR starts_with(repo_lower, @term) THEN 1
                               WHEN strpos(name_lower, @term) > 0 THEN 2
                               ELSE 3 END,
                          name COLLATE "C"
                """, new { term, owner = owner ?? "", everyone }, cancellationToken: ct));
            return rows.Select(r => new SearchEntry(r.Name, r.Description)).ToList();
        }, ct);
    }

    private static Task UpsertAsync(Npgsql.NpgsqlConnection connection, string name, string description, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO registry_private_repositories (name, namespace, description, name_lower, repo_lower, description_lower)
            VALUES (@Name, @Namespace, @Description, @NameLower, @RepoLower, @DescriptionLower)
            ON CONFLICT (name) DO UPDATE SET description = excluded.description, description_lower = excluded.description_lower
            """, Row.Of(name, description), cancellationToken: ct));

    /// <summary>A row's columns: the namespace is what precedes the first '/' ("" without one), the repository part what follows it.</summary>
    private sealed record Row(string Name, string Namespace, string Description, string NameLower, string RepoLower, string DescriptionLower)
    {
        public static Row Of(string name, string description)
        {
            var nameLower = name.ToLowerInvariant();
            return new Row(name, name[..Math.Max(0, name.IndexOf('/'))], description, nameLower,
                nameLower[(nameLower.IndexOf('/') + 1)..], description.ToLowerInvariant());
        }
    }
}
