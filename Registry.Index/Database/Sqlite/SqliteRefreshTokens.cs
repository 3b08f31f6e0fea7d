using Dapper;
using Registry.Index.Accounts.Bearer;

namespace Registry.Index.Database.Sqlite;

/// <summary>Refresh tokens of the token server in the SQLite index database (the table of <see cref="SqliteMigrations"/> "refresh tokens").</summary>
public sealed class SqliteRefreshTokens(SqliteIndexDatabase database) : IRefreshTokens
{
    /// <summary>The table, created when absent (a migration of its own).</summary>
    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS registry_refresh_tokens (
            token_hash     TEXT PRIMARY KEY NOT NULL,
            username       TEXT NOT NULL,
            password_stamp TEXT NOT NULL,
            created        INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS registry_refresh_tokens_user ON registry_refresh_tokens (username);
        """;

    /// <inheritdoc />
    public async Task AddAsync(string tokenHash, string username, string passwordStamp, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO registry_refresh_tokens (token_hash, username, password_stamp, created) VALUES (@tokenHash, @username, @passwordStamp, @created)",
            new { tokenHash, username, passwordStamp, created = DateTimeOffset.UtcNow.ToUnixTimeSeconds() }, cancellationToken: ct));
    }

    /// <inheritdoc />
    public async Task<(string Username, string PasswordStamp)?> FindAsync(string tokenHash, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<(string, string)>(new CommandDefinition(
            "SELECT username, password_stamp FROM registry_refresh_tokens WHERE token_hash = @tokenHash", new { tokenHash }, cancellationToken: ct));
        return rows.Select(r => ((string, string)?)r).FirstOrDefault();
    }

    /// <inheritdoc />
    public async Task<bool> RevokeAsync(string tokenHash, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_refresh_tokens WHERE token_hash = @tokenHash", new { tokenHash }, cancellationToken: ct)) > 0;
    }

    /// <inheritdoc />
    public async Task<int> RevokeUserAsync(string username, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_refresh_tokens WHERE username = @username", new { username }, cancellationToken: ct));
    }
}
