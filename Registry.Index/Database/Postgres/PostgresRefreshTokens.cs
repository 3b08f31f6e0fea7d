using Dapper;
using Registry.Index.Accounts.Bearer;

namespace Registry.Index.Database.Postgres;

/// <summary>Refresh tokens of the token server in the PostgreSQL index database (the table of <see cref="PostgresMigrations"/> "refresh tokens").</summary>
public sealed class PostgresRefreshTokens(PostgresIndexDatabase database) : IRefreshTokens
{
    internal const string Schema = """
        CREATE TABLE registry_refresh_tokens (
            token_hash     text PRIMARY KEY,
            username       text NOT NULL,
            password_stamp text NOT NULL,
            created        bigint NOT NULL
        );
        CREATE INDEX registry_refresh_tokens_user ON registry_refresh_tokens (username);
        """;

    /// <inheritdoc />
    public async Task AddAsync(string tokenHash, string username, string passwordStamp, CancellationToken ct) =>
        await database.RunAsync(async connection => await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO registry_refresh_tokens (token_hash, username, password_stamp, created) VALUES (@tokenHash, @username, @passwordStamp, @created)",
            new { tokenHash, username, passwordStamp, created = DateTimeOffset.UtcNow.ToUnixTimeSeconds() }, cancellationToken: ct)), ct);

    /// <inheritdoc />
    public async Task<(string Username, string PasswordStamp)?> FindAsync(string tokenHash, CancellationToken ct) =>
        await database.RunAsync(async connection =>
        {
            var rows = await connection.QueryAsync<(string, string)>(new CommandDefinition(
                "SELECT username, password_stamp FROM registry_refresh_tokens WHERE token_hash = @tokenHash", new { tokenHash }, cancellationToken: ct));
            return rows.Select(r => ((string, string)?)r).FirstOrDefault();
        }, ct);

    /// <inheritdoc />
    public async Task<bool> RevokeAsync(string tokenHash, CancellationToken ct) =>
        await database.RunAsync(async connection => await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_refresh_tokens WHERE token_hash = @tokenHash", new { tokenHash }, cancellationToken: ct)) > 0, ct);

    /// <inheritdoc />
    public async Task<int> RevokeUserAsync(string username, CancellationToken ct) =>
        await database.RunAsync(async connection => await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_refresh_tokens WHERE username = @username", new { username }, cancellationToken: ct)), ct);
}
