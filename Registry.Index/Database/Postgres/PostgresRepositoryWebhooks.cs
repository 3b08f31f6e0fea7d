using Dapper;
using Registry.Index.Webhooks;

namespace Registry.Index.Database.Postgres;

/// <summary>Repository webhooks in the PostgreSQL index database (the table of <see cref="PostgresMigrations"/> version 9).</summary>
public sealed class PostgresRepositoryWebhooks(PostgresIndexDatabase database) : IRepositoryWebhooks
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<RepositoryWebhook>> ListAsync(string repository, CancellationToken ct) =>
        await database.RunAsync(async connection =>
        {
            var rows = await connection.QueryAsync<(long Id, string Url)>(new CommandDefinition(
                "SELECT id, url FROM registry_webhooks WHERE repository = @repository ORDER BY id", new { repository }, cancellationToken: ct));
            return (IReadOnlyList<RepositoryWebhook>)rows.Select(r => new RepositoryWebhook(r.Id, r.Url)).ToList();
        }, ct);

    /// <inheritdoc />
    public async Task<RepositoryWebhook> AddAsync(string repository, string url, CancellationToken ct) =>
        await database.RunAsync(async connection =>
        {
            var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "INSERT INTO registry_webhooks (repository, url, created) VALUES (@repository, @url, @created) RETURNING id",
                new { repository, url, created = DateTimeOffset.UtcNow.ToUnixTimeSeconds() }, cancellationToken: ct));
            return new RepositoryWebhook(id, url);
        }, ct);

    /// <inheritdoc />
    public async Task<bool> RemoveAsync(string repository, long id, CancellationToken ct) =>
        await database.RunAsync(async connection => await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_webhooks WHERE repository = @repository AND id = @id", new { repository, id }, cancellationToken: ct)) > 0, ct);
}
