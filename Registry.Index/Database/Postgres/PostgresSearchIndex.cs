using System.Text;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using Registry.Index.Search;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// The repository search index (Docker Registry HTTP API V1, 'Search') in the PostgreSQL index database (the
/// tables of <see cref="PostgresMigrations"/> versions 4 and 5): writes and the bulk rebuild here, search in
/// the other part of the class.
/// </summary>
internal sealed partial class PostgresSearchIndex(PostgresIndexDatabase database, PostgresSearchPageCache? cache) : ISearchIndex
{
    /// <summary>Follows a write in its batch (one implicit transaction): the generation it made, or the current one if it changed nothing.</summary>
    private const string GenerationAfterSql = "; SELECT generation FROM search_generation WHERE id = 0";

    /// <summary>A row listed anew (again after a deletion, or public again) takes the stars its repository kept (<see cref="PostgresHubStore"/>).</summary>
    private const string StarsSql = "(SELECT count(*) FROM registry_stars WHERE repository = @StarKey)";

    private readonly PostgresSearchCounts _counts = new();
    private readonly PostgresSearchChanges.PruneClock _pruned = new();

    /// <inheritdoc />
    public async Task AddRepositoryAsync(string name, CancellationToken ct)
    {
        await database.RunAsync(async connection =>
        {
            await WriteAsync(connection,
                "INSERT INTO search_repositories (name, description, name_lower, repo_lower, description_lower, star_count) " +
                $"VALUES (@Name, '', @NameLower, @RepoLower, '', {StarsSql}) ON CONFLICT (name) DO NOTHING",
                Row.Of(name, ""), ct);
        }, ct);
    }

    /// <inheritdoc />
    public async Task SetDescriptionAsync(string name, string description, CancellationToken ct)
    {
        await database.RunAsync(async connection =>
        {
            await WriteAsync(connection, $"""
                INSERT INTO search_repositories (name, description, name_lower, repo_lower, description_lower, star_count)
                VALUES (@Name, @Description, @NameLower, @RepoLower, @DescriptionLower, {StarsSql})
                ON CONFLICT (name) DO UPDATE SET description = excluded.description, description_lower = excluded.description_lower
                """, Row.Of(name, description), ct);
        }, ct);
    }

    /// <inheritdoc />
    public async Task RemoveRepositoryAsync(string name, CancellationToken ct)
    {
        await database.RunAsync(async connection =>
        {
            await WriteAsync(connection, "DELETE FROM search_repositories WHERE name = @name", new { name }, ct);
        }, ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SearchEntry>> ListAllAsync(CancellationToken ct)
    {
        return await database.RunAsync(async connection =>
        {
            var rows = await connection.QueryAsync<(string Name, string Description, int StarCount)>(new CommandDefinition(
                "SELECT name, description, star_count FROM search_repositories ORDER BY name COLLATE \"C\"", cancellationToken: ct));
            return rows.Select(r => new SearchEntry(r.Name, r.Description, r.StarCount)).ToList();
        }, ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListNamesUnderAsync(string prefix, CancellationToken ct)
    {
        // The prefix index on name_lower (text_pattern_ops) answers a LIKE 'prefix%'; starts_with keeps the exact case.
        return await database.RunAsync(async connection =>
        {
            var names = prefix.Length == 0
                ? await connection.QueryAsync<string>(new CommandDefinition(
                    "SELECT name FROM search_repositories WHERE strpos(name, '/') = 0", cancellationToken: ct))
                : await connection.QueryAsync<string>(new CommandDefinition(
                    @"SELECT name FROM search_repositories WHERE name_lower LIKE @pattern ESCAPE '\' AND starts_with(name, @prefix)",
                    new { pattern = EscapeLike(prefix.ToLowerInvariant()) + "%", prefix }, cancellationToken: ct));
            return names.Where(n => n.IndexOf('/', prefix.Length) < 0).ToList();
        }, ct);
    }

    /// <inheritdoc />
    public async Task<long> CountAsync(CancellationToken ct)
    {
        return await database.RunAsync(async connection =>
        {
            return await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM search_repositories", cancellationToken: ct));
        }, ct);
    }

    /// <inheritdoc />
    /// <remarks>Readers keep seeing the old content until the rebuilt table is swapped in (<see cref="PostgresSearchRebuild"/>).</remarks>
    public Task ReplaceAllAsync(IEnumerable<SearchEntry> entries, CancellationToken ct) =>
        RebuildAsync(connection => PostgresSearchRebuild.RunAsync(database, connection, entries, ct), ct);

    /// <inheritdoc />
    /// <remarks>The rows are copied as they come (<see cref="PostgresSearchRebuild"/>).</remarks>
    public Task ReplaceAllAsync(IAsyncEnumerable<SearchEntry> entries, CancellationToken ct) =>
        RebuildAsync(connection => PostgresSearchRebuild.RunAsync(database, connection, entries, ct), ct);

    private Task RebuildAsync(Func<NpgsqlConnection, Task> rebuild, CancellationToken ct) =>
        database.RunAsync(async connection =>
        {
            await rebuild(connection);
            cache?.Wrote(await connection.ExecuteScalarAsync<long>(new CommandDefinition(GenerationAfterSql[2..], cancellationToken: ct)));
        }, ct);

    /// <summary>
    /// Runs one write and tells the page cache the generation it made, before the caller learns the write is done,
    /// so that this instance's next search sees it; now and then drops old changes from the log.
    /// </summary>
    private async Task WriteAsync(NpgsqlConnection connection, string sql, object parameters, CancellationToken ct)
    {
        var generation = await connection.ExecuteScalarAsync<long>(new CommandDefinition(sql + GenerationAfterSql, parameters, cancellationToken: ct));
        cache?.Wrote(generation);
        await PostgresSearchChanges.PruneAsync(connection, _pruned, ct);
    }

    /// <summary><paramref name="term"/> as a <c>LIKE</c> pattern that matches only itself: <c>\</c>, <c>%</c> and <c>_</c> escaped.</summary>
    internal static string EscapeLike(string term)
    {
        var escaped = new StringBuilder(term.Length + 4);
        foreach (var c in term)
        {
            if (c is '\\' or '%' or '_') escaped.Append('\\');
            escaped.Append(c);
        }

        return escaped.ToString();
    }

    /// <summary>A row's columns; the repository part is what follows the first '/' (the whole name without one).</summary>
    internal sealed record Row(string Name, string Description, string NameLower, string RepoLower, string DescriptionLower)
    {
        /// <summary>The stars table's name of the row's repository.</summary>
        public string StarKey => Hub.HubNames.StarKeyOf(Name);

        public static Row Of(string name, string description)
        {
            var nameLower = name.ToLowerInvariant();
            return new Row(name, description, nameLower, nameLower[(nameLower.IndexOf('/') + 1)..], description.ToLowerInvariant());
        }
    }
}
