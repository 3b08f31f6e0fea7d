using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Registry.Core.Configuration;
using Registry.Core.Names;
using Registry.Core.Storage;

namespace Registry.Index.Accounts;

/// <summary>
/// Issues the index's tokens and the headers that carry them (Docker Registry and Index spec, 'standalone mode'). Without authentication a token
/// is the original's 16 random characters that nobody checks. With authentication it is signed:
/// <c>Token signature=HMAC,repository="ns/repo",access=…,expires=UNIX,user=B64</c>, the HMAC-SHA256 over every
/// other field keyed by <c>secret_key</c> (generated once and kept in storage when the config has none, so
/// instances sharing storage agree).
/// </summary>
public sealed class TokenService(RegistrySettings settings, AuthSettings auth, IStorageDriver storage, TimeProvider? time = null)
{
    public const string SecretKeyPath = "_auth/secret_key";
    private const string SignatureAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private Task<byte[]>? _key;

    public async Task<string> IssueAsync(RepositoryName repository, string access, string? user, CancellationToken ct)
    {
        if (!auth.Enabled)
            return $"Token signature={RandomNumberGenerator.GetString(SignatureAlphabet, 16)},repository=\"{ParsedToken.EncodeName(repository.FullName)}\",access={access}";
        var expires = _time.GetUtcNow().Add(auth.TokenLifetime).ToUnixTimeSeconds();
        var userField = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(user ?? ""));
        var signature = await SignAsync(repository.FullName, access, expires, userField, ct);
        return $"Token signature={signature},repository=\"{ParsedToken.EncodeName(repository.FullName)}\",access={access},expires={expires},user={userField}";
    }

    /// <summary>The token's user ("" for anonymous) when its signature is genuine and it has not expired; else null.</summary>
    public async Task<string?> VerifyAsync(ParsedToken token, CancellationToken ct)
    {
        if (token.Expires < _time.GetUtcNow().ToUnixTimeSeconds()) return null;
        var expected = await SignAsync(token.Repository, token.Access, token.Expires, token.User, ct);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(token.Signature))) return null;
        try
        {
            return Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.User));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Adds <c>X-Docker-Token</c>, <c>WWW-Authenticate</c> and <c>X-Docker-Endpoints</c> to the response.</summary>
    public async Task AddTokenHeadersAsync(HttpContext context, RepositoryName repository, string access, CancellationToken ct)
    {
        var user = context.Items[Authenticator.PrincipalItem] is Principal { Kind: PrincipalKind.User } p ? p.User : null;
        var token = await IssueAsync(repository, access, user, ct);
        var headers = context.Response.Headers;
        headers["X-Docker-Token"] = token;
        headers.WWWAuthenticate = token;
        headers["X-Docker-Endpoints"] = Endpoints(context.Request);
    }

    /// <summary>
    /// The <c>registry_endpoints</c> setting (the registry instances of a split deployment, comma-separated as the
    /// original's get_endpoints hands them out), else the Host the client addressed (host[:port]).
    /// </summary>
    public string Endpoints(HttpRequest request) =>
        settings.Roles.RegistryEndpoints.Count > 0 ? string.Join(',', settings.Roles.RegistryEndpoints) : request.Host.Value ?? "";

    /// <summary>
    /// The registry's secret key (configured, or the one kept in storage), for other signatures keyed by it; each
    /// derives its own key from it so that no two kinds of signature can be swapped.
    /// </summary>
    public Task<byte[]> SecretKeyAsync() => _key ??= LoadKeyAsync(CancellationToken.None);

    private async Task<string> SignAsync(string repository, string access, long expires, string user, CancellationToken ct)
    {
        var key = await SecretKeyAsync();
        var message = Encoding.UTF8.GetBytes($"{repository}\n{access}\n{expires}\n{user}");
        return Base64Url.EncodeToString(HMACSHA256.HashData(key, message));
    }

    private async Task<byte[]> LoadKeyAsync(CancellationToken ct)
    {
        if (auth.SecretKey is { } configured) return Encoding.UTF8.GetBytes(configured);
        var stored = await storage.GetContentAsync(SecretKeyPath, ct);
        if (stored is { Length: >= 32 }) return stored;
        await storage.PutContentAsync(SecretKeyPath, RandomNumberGenerator.GetBytes(32), ct);
        // Read back: if another instance wrote its key at the same moment, both use the one that stayed.
        return await storage.GetContentAsync(SecretKeyPath, ct) ?? throw new IOException("the token secret key could not be stored");
    }
}
