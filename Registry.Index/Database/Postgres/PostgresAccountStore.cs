using Dapper;
using Registry.Index.Accounts;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// Accounts in the PostgreSQL index database (the table of <see cref="PostgresMigrations"/> version 1).
/// Passwords are stored as bcrypt hashes only.
/// </summary>
public sealed class PostgresAccountStore(PostgresIndexDatabase database) : IAccountStore
{
    /// <inheritdoc />
    public async Task<CreateAccountResult> CreateAsync(string username, string password, string email, CancellationToken ct)
    {
        return await database.RunAsync(async connection =>
        {
            // Without a conflict target, DO NOTHING covers the unique email index as well as the name.
            var inserted = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO registry_accounts (username, email, password_hash, created)
                VALUES (@username, @email, @hash, extract(epoch FROM now())::bigint)
                ON CONFLICT DO NOTHING
                """, new { username, email, hash = BCrypt.Net.BCrypt.HashPassword(password, 10) }, cancellationToken: ct));
            return inserted == 1 ? CreateAccountResult.Created : CreateAccountResult.AlreadyExists;
        }, ct);
    }

    /// <inheritdoc />
    public async Task<string?> HashOfAsync(string username, CancellationToken ct)
    {
        return await database.RunAsync(async connection =>
        {
            return await connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
                "SELECT password_hash FROM registry_accounts WHERE username = @username", new { username }, cancellationToken: ct));
        }, ct);
    }

    /// <inheritdoc />
    public async Task<bool> UpdateAsync(string username, string? password, string? email, CancellationToken ct)
    {
        return await database.RunAsync(async connection =>
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE registry_accounts
                   SET password_hash = coalesce(@hash, password_hash), email = coalesce(@email, email)
                 WHERE username = @username
                """, new { username, email, hash = password is null ? null : BCrypt.Net.BCrypt.HashPassword(password, 10) }, cancellationToken: ct));
            return changed == 1;
        }, ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<StoredAccount>> ListAllAsync(CancellationToken ct)
    {
        return await database.RunAsync(async connection =>
        {
            return (await connection.QueryAsync<StoredAccount>(new CommandDefinition(
                "SELECT username, email, password_hash AS PasswordHash, created FROM registry_accounts ORDER BY username COLLATE \"C\"", cancellationToken: ct))).ToList();
        }, ct);
    }

    /// <inheritdoc />
    public async Task ReplaceAllAsync(IEnumerable<StoredAccount> accounts, CancellationToken ct)
    {
        await database.RunAsync(async connection =>
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_accounts", transaction: tx, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO registry_accounts (username, email, password_hash, created) VALUES (@Username, @Email, @PasswordHash, @Created)",
                accounts, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
        }, ct);
    }
}
