using Dapper;
using Registry.Index.Accounts;

namespace Registry.Index.Database.Sqlite;

/// <summary>Access tokens in the SQLite index database (the table of <see cref="SqliteMigrations"/> version 9).</summary>
public sealed class SqliteAccessTokens(SqliteIndexDatabase database) : IAccessTokenStore
{
    private const string Columns = "id, username, name, scopes, secret_hash AS SecretHash, created, expires, last_used AS LastUsed";

    /// <inheritdoc />
    public async Task<bool> CreateAsync(StoredAccessToken token, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition("""
            INSERT OR IGNORE INTO registry_access_tokens (id, username, name, scopes, secret_hash, created, expires, last_used)
            VALUES (@Id, @Username, @Name, @Scopes, @SecretHash, @Created, @Expires, @LastUsed)
            """, token, cancellationToken: ct)) == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredAccessToken>> ListAsync(string? username, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return (await connection.QueryAsync<StoredAccessToken>(new CommandDefinition(
            $"SELECT {Columns} FROM registry_access_tokens WHERE @username IS NULL OR username = @username ORDER BY username, created, id",
            new { username }, cancellationToken: ct))).AsList();
    }

    /// <inheritdoc />
    public async Task<StoredAccessToken?> FindBySecretHashAsync(string secretHash, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<StoredAccessToken>(new CommandDefinition(
            $"SELECT {Columns} FROM registry_access_tokens WHERE secret_hash = @secretHash", new { secretHash }, cancellationToken: ct));
    }

    /// <inheritdoc />
    public async Task<bool> RevokeAsync(string username, string id, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_access_tokens WHERE username = @username AND id = @id", new { username, id }, cancellationToken: ct)) > 0;
    }

    /// <inheritdoc />
    public async Task TouchAsync(string id, long unixSeconds, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE registry_access_tokens SET last_used = max(coalesce(last_used, 0), @unixSeconds) WHERE id = @id",
            new { id, unixSeconds }, cancellationToken: ct));
    }

    /// <inheritdoc />
    public async Task ReplaceAllAsync(IReadOnlyList<StoredAccessToken> tokens, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_access_tokens", transaction: transaction, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO registry_access_tokens (id, username, name, scopes, secret_hash, created, expires, last_used)
            VALUES (@Id, @Username, @Name, @Scopes, @SecretHash, @Created, @Expires, @LastUsed)
            """, tokens, transaction, cancellationToken: ct));
        await transaction.CommitAsync(ct);
    }
}
