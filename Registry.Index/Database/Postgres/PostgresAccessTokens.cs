using Dapper;
using Registry.Index.Accounts;

namespace Registry.Index.Database.Postgres;

/// <summary>Access tokens in the PostgreSQL index database (the table of <see cref="PostgresMigrations"/> version 10).</summary>
public sealed class PostgresAccessTokens(PostgresIndexDatabase database) : IAccessTokenStore
{
    private const string Columns = "id, username, name, scopes, secret_hash AS SecretHash, created, expires, last_used AS LastUsed";

    private const string Insert = """
        INSERT INTO registry_access_tokens (id, username, name, scopes, secret_hash, created, expires, last_used)
        VALUES (@Id, @Username, @Name, @Scopes, @SecretHash, @Created, @Expires, @LastUsed)
        """;

    /// <inheritdoc />
    public async Task<bool> CreateAsync(StoredAccessToken token, CancellationToken ct) =>
        await database.RunAsync(async connection => await connection.ExecuteAsync(new CommandDefinition(
            Insert + " ON CONFLICT DO NOTHING", token, cancellationToken: ct)) == 1, ct);

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredAccessToken>> ListAsync(string? username, CancellationToken ct) =>
        await database.RunAsync(async connection => (IReadOnlyList<StoredAccessToken>)(await connection.QueryAsync<StoredAccessToken>(
            new CommandDefinition(
                $"SELECT {Columns} FROM registry_access_tokens WHERE @username::text IS NULL OR username = @username ORDER BY username, created, id",
                new { username }, cancellationToken: ct))).AsList(), ct);

    /// <inheritdoc />
    public async Task<StoredAccessToken?> FindBySecretHashAsync(string secretHash, CancellationToken ct) =>
        await database.RunAsync(async connection => await connection.QuerySingleOrDefaultAsync<StoredAccessToken>(new CommandDefinition(
            $"SELECT {Columns} FROM registry_access_tokens WHERE secret_hash = @secretHash", new { secretHash }, cancellationToken: ct)), ct);

    /// <inheritdoc />
    public async Task<bool> RevokeAsync(string username, string id, CancellationToken ct) =>
        await database.RunAsync(async connection => await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_access_tokens WHERE username = @username AND id = @id", new { username, id }, cancellationToken: ct)) > 0, ct);

    /// <inheritdoc />
    public async Task TouchAsync(string id, long unixSeconds, CancellationToken ct) =>
        await database.RunAsync(async connection => await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE registry_access_tokens SET last_used = greatest(last_used, @unixSeconds) WHERE id = @id",
            new { id, unixSeconds }, cancellationToken: ct)), ct);

    /// <inheritdoc />
    public async Task ReplaceAllAsync(IReadOnlyList<StoredAccessToken> tokens, CancellationToken ct) =>
        await database.RunAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_access_tokens", transaction: transaction, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(Insert, tokens, transaction, cancellationToken: ct));
            await transaction.CommitAsync(ct);
        }, ct);
}
