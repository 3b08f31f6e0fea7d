using System.Text.RegularExpressions;

namespace Registry.Index.Accounts;

public enum SignUpResult { Created, InvalidUsername, InvalidPassword, InvalidEmail, AlreadyExists }

public enum UpdateAccountResult { Updated, InvalidPassword, NoSuchAccount }

/// <summary>
/// Sign-ups and account changes (Docker Registry HTTP API V1, "Users"): the rules for names, passwords and
/// emails, and who may change an account (its user logged in with their password, not an access token, or an
/// admin as <see cref="AccessPolicy"/> says).
/// Accounts of the htpasswd file are never created or changed here.
/// </summary>
public sealed partial class UserService(IAccountStore accounts, HtpasswdFile htpasswd, AccessPolicy policy)
{
    public const int MinPasswordLength = 5;
    public const int MaxEmailLength = 254;

    public async Task<SignUpResult> SignUpAsync(string? username, string? password, string email, CancellationToken ct)
    {
        if (username is null || !UserName().IsMatch(username)) return SignUpResult.InvalidUsername;
        if (string.IsNullOrEmpty(password) || password.Length < MinPasswordLength) return SignUpResult.InvalidPassword;
        if (email.Length > MaxEmailLength) return SignUpResult.InvalidEmail;
        if (htpasswd.Contains(username)) return SignUpResult.AlreadyExists;
        return await accounts.CreateAsync(username, password, email, ct) == CreateAccountResult.Created
            ? SignUpResult.Created
            : SignUpResult.AlreadyExists;
    }

    /// <summary>True when an authenticated user may change the account <paramref name="username"/>.</summary>
    public bool MayChange(Principal principal, string username) =>
        (principal.User == username && !principal.IsRestricted) || policy.IsAdmin(principal);

    /// <summary>Changes the password and/or email that are not null.</summary>
    public async Task<UpdateAccountResult> UpdateAsync(string username, string? password, string? email, CancellationToken ct)
    {
        if (password is { Length: < MinPasswordLength }) return UpdateAccountResult.InvalidPassword;
        return await accounts.UpdateAsync(username, password, email, ct) ? UpdateAccountResult.Updated : UpdateAccountResult.NoSuchAccount;
    }

    [GeneratedRegex("^[a-z0-9_]{4,30}$")]
    private static partial Regex UserName();
}
