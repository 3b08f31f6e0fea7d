using Dapper;
using Registry.Index.Search;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// The catalog's names in the PostgreSQL index database (the table of <see cref="PostgresMigrations"/> version 13), keyed
/// by their catalog sort key under the "C" collation (byte order, whatever the database's locale).
/// </summary>
public sealed class PostgresDistributionNames(PostgresIndexDatabase database) : IDistributionNames
{
    internal const string Schema = """
        CREATE TABLE registry_v2_repositories (
            sort_key text COLLATE "C" PRIMARY KEY,
            name     text NOT NULL
        );
        """;

    /// <inheritdoc />
    public Task AddAsync(string name, CancellationToken ct) =>
        database.RunAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO registry_v2_repositories (sort_key, name) VALUES (@key, @name) ON CONFLICT (sort_key) DO NOTHING",
            new { key = CatalogKey.Of(name), name }, cancellationToken: ct)), ct);

    /// <inheritdoc />
    public Task RemoveAsync(string name, CancellationToken ct) =>
        database.RunAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_v2_repositories WHERE sort_key = @key", new { key = CatalogKey.Of(name) }, cancellationToken: ct)), ct);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> PageAsync(string fromKey, int limit, CancellationToken ct) =>
        database.RunAsync<IReadOnlyList<string>>(async connection => (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT name FROM registry_v2_repositories WHERE sort_key >= @fromKey ORDER BY sort_key LIMIT @limit",
            new { fromKey, limit }, cancellationToken: ct))).AsList(), ct);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListUnderAsync(string name, CancellationToken ct)
    {
        var key = CatalogKey.Of(name);
        // Below the name: keys from "name\u0001" up to (not including) "name\u0002".
        return database.RunAsync<IReadOnlyList<string>>(async connection => (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT name FROM registry_v2_repositories WHERE sort_key = @key OR (sort_key >= @from AND sort_key < @to) ORDER BY sort_key",
            new { key, from = key + CatalogKey.Separator, to = key + '\u0002' }, cancellationToken: ct))).AsList(), ct);
    }
}
