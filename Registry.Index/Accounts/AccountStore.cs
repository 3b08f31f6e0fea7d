using Dapper;
using Microsoft.Data.Sqlite;

namespace Registry.Index.Accounts;

public enum CreateAccountResult { Created, AlreadyExists }

/// <summary>
/// Accounts created through <c>POST /v1/users/</c>, kept in the index database beside the search tables
/// (their own table, their own schema version). Passwords are stored as bcrypt hashes only.
/// </summary>
public sealed class AccountStore
{
    private readonly string _connectionString;

    private AccountStore(string connectionString) => _connectionString = connectionString;

    public static async Task<AccountStore> OpenAsync(string databasePath, CancellationToken ct)
    {
        var store = new AccountStore(IndexDatabase.ConnectionString(databasePath));
        await using var connection = await store.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            CREATE TABLE IF NOT EXISTS registry_accounts (
                username      TEXT PRIMARY KEY NOT NULL,
                email         TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created       INTEGER NOT NULL
            );
            CREATE UNIQUE INDEX IF NOT EXISTS registry_accounts_email ON registry_accounts (email) WHERE email <> '';
            """, cancellationToken: ct));
        return store;
    }

    public async Task<CreateAccountResult> CreateAsync(string username, string password, string email, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            "INSERT OR IGNORE INTO registry_accounts (username, email, password_hash, created) VALUES (@username, @email, @hash, unixepoch())",
            new { username, email, hash = BCrypt.Net.BCrypt.HashPassword(password, 10) }, cancellationToken: ct));
        return inserted == 1 ? CreateAccountResult.Created : CreateAccountResult.AlreadyExists;
    }

    public async Task<string?> HashOfAsync(string username, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
            "SELECT password_hash FROM registry_accounts WHERE username = @username", new { username }, cancellationToken: ct));
    }

    /// <summary>Changes the password and/or email of an existing account; false when there is no such account.</summary>
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

    private Task<SqliteConnection> OpenAsync(CancellationToken ct) => IndexDatabase.OpenAsync(_connectionString, ct);
}
