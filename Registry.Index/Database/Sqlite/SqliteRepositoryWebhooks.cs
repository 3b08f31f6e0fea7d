using Dapper;
using Registry.Index.Webhooks;

namespace Registry.Index.Database.Sqlite;

/// <summary>Repository webhooks in the SQLite index database (the table of <see cref="SqliteMigrations"/> version 8).</summary>
public sealed class SqliteRepositoryWebhooks(SqliteIndexDatabase database) : IRepositoryWebhooks
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<RepositoryWebhook>> ListAsync(string repository, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<(long Id, string Url)>(new CommandDefinition(
            "SELECT id, url FROM registry_webhooks WHERE repository = @repository ORDER BY id", new { repository }, cancellationToken: ct));
        return rows.Select(r => new RepositoryWebhook(r.Id, r.Url)).ToList();
    }

    /// <inheritdoc />
    public async Task<RepositoryWebhook> AddAsync(string repository, string url, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "INSERT INTO registry_webhooks (repository, url, created) VALUES (@repository, @url, @created) RETURNING id",
            new { repository, url, created = DateTimeOffset.UtcNow.ToUnixTimeSeconds() }, cancellationToken: ct));
        return new RepositoryWebhook(id, url);
    }

    /// <inheritdoc />
    public async Task<bool> RemoveAsync(string repository, long id, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_webhooks WHERE repository = @repository AND id = @id", new { repository, id }, cancellationToken: ct)) > 0;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredWebhook>> ListAllAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return (await connection.QueryAsync<StoredWebhook>(new CommandDefinition(
            "SELECT repository, id, url, created FROM registry_webhooks ORDER BY id", cancellationToken: ct))).AsList();
    }

    /// <inheritdoc />
    public async Task ReplaceAllAsync(IReadOnlyList<StoredWebhook> webhooks, CancellationToken ct)
    {
        // An INTEGER PRIMARY KEY takes the ids given, and later rows get one above the highest.
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_webhooks", transaction: transaction, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO registry_webhooks (id, repository, url, created) VALUES (@Id, @Repository, @Url, @Created)",
            webhooks, transaction, cancellationToken: ct));
        await transaction.CommitAsync(ct);
    }
}
