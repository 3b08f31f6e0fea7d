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

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredWebhook>> ListAllAsync(CancellationToken ct) =>
        await database.RunAsync(async connection => (IReadOnlyList<StoredWebhook>)(await connection.QueryAsync<StoredWebhook>(
            new CommandDefinition("SELECT repository, id, url, created FROM registry_webhooks ORDER BY id", cancellationToken: ct))).AsList(), ct);

    /// <inheritdoc />
    public async Task ReplaceAllAsync(IReadOnlyList<StoredWebhook> webhooks, CancellationToken ct) =>
        await database.RunAsync(async connection =>
        {
            // The id column is GENERATED ALWAYS: kept ids need OVERRIDING SYSTEM VALUE, and the sequence then moves past them.
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_webhooks", transaction: transaction, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO registry_webhooks (id, repository, url, created) OVERRIDING SYSTEM VALUE VALUES (@Id, @Repository, @Url, @Created)",
                webhooks, transaction, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT setval(pg_get_serial_sequence('registry_webhooks', 'id'), COALESCE(max(id), 0) + 1, false) FROM registry_webhooks",
                transaction: transaction, cancellationToken: ct));
            await transaction.CommitAsync(ct);
            return true;
        }, ct);
}
