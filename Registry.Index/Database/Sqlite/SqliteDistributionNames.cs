using Dapper;
using Registry.Index.Search;

namespace Registry.Index.Database.Sqlite;

/// <summary>The catalog's names in the SQLite index database (the table of <see cref="SqliteMigrations"/> version 12), keyed by their catalog sort key.</summary>
public sealed class SqliteDistributionNames(SqliteIndexDatabase database) : IDistributionNames
{
    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS registry_v2_repositories (
            sort_key TEXT PRIMARY KEY NOT NULL,
            name     TEXT NOT NULL
        ) WITHOUT ROWID;
        """;

    /// <inheritdoc />
    public async Task AddAsync(string name, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO registry_v2_repositories (sort_key, name) VALUES (@key, @name) ON CONFLICT (sort_key) DO NOTHING",
            new { key = CatalogKey.Of(name), name }, cancellationToken: ct));
    }

    /// <inheritdoc />
    public async Task RemoveAsync(string name, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_v2_repositories WHERE sort_key = @key", new { key = CatalogKey.Of(name) }, cancellationToken: ct));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> PageAsync(string fromKey, int limit, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT name FROM registry_v2_repositories WHERE sort_key >= @fromKey ORDER BY sort_key LIMIT @limit",
            new { fromKey, limit }, cancellationToken: ct))).AsList();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListUnderAsync(string name, CancellationToken ct)
    {
        var key = CatalogKey.Of(name);
        await using var connection = await database.OpenConnectionAsync(ct);
        // Below the name: keys from "name\u0001" up to (not including) "name\u0002".
        return (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT name FROM registry_v2_repositories WHERE sort_key = @key OR (sort_key >= @from AND sort_key < @to) ORDER BY sort_key",
            new { key, from = key + CatalogKey.Separator, to = key + '\u0002' }, cancellationToken: ct))).AsList();
    }
}
