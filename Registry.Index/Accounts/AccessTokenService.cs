using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Registry.Index.Accounts;

/// <summary>An access token as the API shows it (never its secret, which only <see cref="CreateAccessTokenResult.Created"/> carries once).</summary>
public sealed record AccessToken(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("user")] string User,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("scopes")] IReadOnlyList<AccessTokenScope> Scopes,
    [property: JsonPropertyName("created_at")] string CreatedAt,
    [property: JsonPropertyName("expires_at")] string? ExpiresAt,
    [property: JsonPropertyName("last_used_at")] string? LastUsedAt);

/// <summary>What <see cref="AccessTokenService.CreateAsync"/> did.</summary>
public abstract record CreateAccessTokenResult
{
    public sealed record Created(AccessToken Token, string Secret) : CreateAccessTokenResult;

    public sealed record Invalid(string Problem) : CreateAccessTokenResult;

    public sealed record NameTaken : CreateAccessTokenResult;
}

/// <summary>
/// Access tokens for robots (README, 'Access tokens'): a user names a token, limits it to repositories and actions,
/// optionally lets it expire, and uses its secret as the password of Basic authentication with their user name.
/// The request then acts as that user restricted to the token's scopes. Secrets are shown once and stored hashed.
/// </summary>
public sealed partial class AccessTokenService(IAccessTokenStore store, TimeProvider? time = null)
{
    /// <summary>Starts every secret, so that a leaked one is recognisable (secret scanners) and never taken for a password.</summary>
    public const string SecretPrefix = "rgt_";
    public const int MaxScopes = 100;
    public const int MaxTokensPerUser = 100;

    /// <summary>How stale the recorded last use may get: at most one write per token and minute, not one per request.</summary>
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    private static readonly JsonSerializerOptions ScopeJson = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Creates a token for <paramref name="username"/> from the API's JSON body.</summary>
    public async Task<CreateAccessTokenResult> CreateAsync(string username, JsonElement body, CancellationToken ct)
    {
        if (body.ValueKind != JsonValueKind.Object) return new CreateAccessTokenResult.Invalid("Error Decoding JSON: expected an object");
        if (!body.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String || !TokenName().IsMatch(nameElement.GetString()!))
            return new CreateAccessTokenResult.Invalid("Invalid name (must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$)");
        if (ReadScopes(body) is not { } scopes)
            return new CreateAccessTokenResult.Invalid(
                $"Invalid scopes: expected 1 to {MaxScopes} of {{\"repository\": \"ns/name\" or \"ns/*\", \"actions\": [\"pull\", \"push\", \"delete\"]}}");
        var now = _time.GetUtcNow();
        long? expires = null;
        if (body.TryGetProperty("expires_at", out var expiresElement) && expiresElement.ValueKind != JsonValueKind.Null)
        {
            if (expiresElement.ValueKind != JsonValueKind.String
                || !DateTimeOffset.TryParse(expiresElement.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                || at <= now)
                return new CreateAccessTokenResult.Invalid("Invalid expires_at: expected a future time such as \"2030-01-31T00:00:00Z\"");
            expires = at.ToUnixTimeSeconds();
        }
        if ((await store.ListAsync(username, ct)).Count >= MaxTokensPerUser)
            return new CreateAccessTokenResult.Invalid($"Too many access tokens (at most {MaxTokensPerUser} per user); revoke some first");

        var secret = SecretPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var stored = new StoredAccessToken(
            Base64Url(RandomNumberGenerator.GetBytes(9)), username, nameElement.GetString()!, JsonSerializer.Serialize(scopes, ScopeJson),
            HashOf(secret), now.ToUnixTimeSeconds(), expires, null);
        return await store.CreateAsync(stored, ct)
            ? new CreateAccessTokenResult.Created(Show(stored), secret)
            : new CreateAccessTokenResult.NameTaken();
    }

    /// <summary>The tokens of <paramref name="username"/>, or everyone's when null.</summary>
    public async Task<IReadOnlyList<AccessToken>> ListAsync(string? username, CancellationToken ct) =>
        (await store.ListAsync(username, ct)).Select(Show).ToList();

    /// <summary>Revokes the token at once; false when the user has no token with that id.</summary>
    public Task<bool> RevokeAsync(string username, string id, CancellationToken ct) => store.RevokeAsync(username, id, ct);

    /// <summary>True when <paramref name="password"/> has the shape of a secret (so it is never checked as a password).</summary>
    public static bool LooksLikeSecret(string password) => password.StartsWith(SecretPrefix, StringComparison.Ordinal);

    /// <summary>
    /// The scopes of the live (not expired, not revoked) token of <paramref name="username"/> whose secret is
    /// <paramref name="secret"/>; null when there is none. Records the use, at most once a minute per token.
    /// </summary>
    public async Task<IReadOnlyList<AccessTokenScope>?> VerifyAsync(string username, string secret, CancellationToken ct)
    {
        var token = await store.FindBySecretHashAsync(HashOf(secret), ct);
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (token is null || !string.Equals(token.Username, username, StringComparison.Ordinal) || token.Expires <= now) return null;
        if (token.LastUsed is not { } used || now - used >= (long)LastUsedResolution.TotalSeconds) await store.TouchAsync(token.Id, now, ct);
        return ScopesOf(token);
    }

    /// <summary>
    /// SHA-256, unsalted: a secret is 256 random bits, so neither a dictionary nor a precomputed table can find it,
    /// and the fast hash lets every request look its token up by index (bcrypt is for low-entropy passwords).
    /// </summary>
    private static string HashOf(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static IReadOnlyList<AccessTokenScope>? ReadScopes(JsonElement body)
    {
        if (!body.TryGetProperty("scopes", out var array) || array.ValueKind != JsonValueKind.Array) return null;
        var count = array.GetArrayLength();
        if (count is 0 or > MaxScopes) return null;
        var scopes = new List<AccessTokenScope>(count);
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object
                || !item.TryGetProperty("repository", out var repository) || repository.ValueKind != JsonValueKind.String
                || AccessTokenScope.NormalizeRepository(repository.GetString()) is not { } name
                || !item.TryGetProperty("actions", out var actions) || actions.ValueKind != JsonValueKind.Array
                || actions.GetArrayLength() == 0)
                return null;
            var names = new List<string>();
            foreach (var action in actions.EnumerateArray())
            {
                if (action.ValueKind != JsonValueKind.String || !AccessTokenScope.KnownActions.Contains(action.GetString())) return null;
                if (!names.Contains(action.GetString()!)) names.Add(action.GetString()!);
            }
            scopes.Add(new AccessTokenScope(name, names));
        }
        return scopes;
    }

    private static IReadOnlyList<AccessTokenScope> ScopesOf(StoredAccessToken token) =>
        JsonSerializer.Deserialize<List<AccessTokenScope>>(token.Scopes, ScopeJson) ?? [];

    private static AccessToken Show(StoredAccessToken token) =>
        new(token.Id, token.Username, token.Name, ScopesOf(token), Time(token.Created)!, Time(token.Expires), Time(token.LastUsed));

    private static string? Time(long? unixSeconds) =>
        unixSeconds is { } s ? DateTimeOffset.FromUnixTimeSeconds(s).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : null;

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex TokenName();
}
