namespace Registry.Index.Accounts;

public enum CreateAccountResult { Created, AlreadyExists }

/// <summary>One account as the index database keeps it (<see cref="Created"/> in Unix seconds), for copying between databases.</summary>
public sealed record StoredAccount(string Username, string Email, string PasswordHash, long Created);

/// <summary>
/// Accounts created through <c>POST /v1/users/</c> (Docker Registry HTTP API V1, 'Users'), kept in the index
/// database. Passwords are stored as bcrypt hashes only; every engine hashes with the same cost.
/// </summary>
public interface IAccountStore
{
    /// <summary>Creates the account; <see cref="CreateAccountResult.AlreadyExists"/> when the name or the email is taken.</summary>
    Task<CreateAccountResult> CreateAsync(string username, string password, string email, CancellationToken ct);

    /// <summary>The bcrypt hash of the account's password; null when there is no such account.</summary>
    Task<string?> HashOfAsync(string username, CancellationToken ct);

    /// <summary>Changes the password and/or email (null keeps it) of an existing account; false when there is no such account.</summary>
    Task<bool> UpdateAsync(string username, string? password, string? email, CancellationToken ct);

    /// <summary>Every account with its hash as stored, ordered by name.</summary>
    Task<IReadOnlyList<StoredAccount>> ListAllAsync(CancellationToken ct);

    /// <summary>Replaces every account by <paramref name="accounts"/> in one transaction, their hashes kept as given.</summary>
    Task ReplaceAllAsync(IEnumerable<StoredAccount> accounts, CancellationToken ct);
}
