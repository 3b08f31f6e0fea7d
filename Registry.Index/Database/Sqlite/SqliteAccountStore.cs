using Dapper;
using Microsoft.Data.Sqlite;
using Registry.Index.Accounts;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// Accounts in the SQLite index database (the table of <see cref="SqliteMigrations"/> version 5).
/// Passwords are stored as bcrypt hashes only.
/// </summary>
public sealed class SqliteAccountStore(SqliteIndexDatabase database) : IAccountStore
{
    /// <inheritdoc />
    public async Task<CreateAccountResult> CreateAsync(string username, string password, string email, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            "INSERT OR IGNORE INTO registry_accounts (username, email, password_hash, created) VALUES (@username, @email, @hash, unixepoch())",
            new { username, email, hash = BCrypt.Net.BCrypt.HashPassword(password, 10) }, cancellationToken: ct));
        return inserted == 1 ? CreateAccountResult.Created : CreateAccountResult.AlreadyExists;
    }

    /// <inheritdoc />
    public async Task<string?> HashOfAsync(string username, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
            "SELECT password_hash FROM registry_accounts WHERE username = @username", new { username }, cancellationToken: ct));
    }

    /// <inheritdoc />
    public async Task<bool> UpdateAsync(string username, string? password, string? email, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE registry_accounts
               SET password_hash = coalesce(@hash, password_hash), email = coalesce(@email, email)
             WHERE username = @username
            """, new { username, email, hash = password is null ? null : BCrypt.Net.BCrypt.HashPassword(password, 10) }, cancellationToken: ct));
        return changed == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredAccount>> ListAllAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return (await connection.QueryAsync<StoredAccount>(new CommandDefinition(
            "SELECT username, email, password_hash AS PasswordHash, created FROM registry_accounts ORDER BY username", cancellationToken: ct))).ToList();
    }

    /// <inheritdoc />
    public async Task ReplaceAllAsync(IEnumerable<StoredAccount> accounts, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_accounts", transaction: tx, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO registry_accounts (username, email, password_hash, created) VALUES (@Username, @Email, @PasswordHash, @Created)",
            accounts, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken ct) => database.OpenConnectionAsync(ct);
}
