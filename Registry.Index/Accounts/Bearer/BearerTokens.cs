using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Registry.Core.Configuration;

namespace Registry.Index.Accounts.Bearer;

/// <summary>What a valid Bearer token says: its subject (empty for anonymous) and the access it grants.</summary>
public sealed record BearerGrant(string Subject, IReadOnlyList<ResourceAccess> Access);

/// <summary>A token the token server issued, with the fields of its response.</summary>
public sealed record IssuedToken(string Token, DateTimeOffset IssuedAt, int ExpiresIn);

/// <summary>
/// Signs and verifies the JSON Web Tokens of the Docker Registry v2 Token Authentication Specification ('Token
/// Response Fields', 'Using the signed token'): claims <c>iss</c>, <c>sub</c>, <c>aud</c>, <c>exp</c>, <c>nbf</c>,
/// <c>iat</c>, <c>jti</c> and <c>access</c>; header <c>kid</c> (libtrust's key id) and <c>x5c</c>. Our own tokens
/// carry <c>iss</c> = <c>aud</c> = the service; tokens of an external issuer are checked against
/// <see cref="ExternalIssuerKeys"/>. <c>exp</c> and <c>nbf</c> get 60 seconds of leeway for clock skew.
/// </summary>
public sealed class BearerTokens(AuthSettings auth, TokenSigningKeys keys, ExternalIssuerKeys? external = null, TimeProvider? time = null)
{
    private static readonly TimeSpan Leeway = TimeSpan.FromSeconds(60);
    private static readonly JsonSerializerOptions Json = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    // Made on first use: a server that never sees a token does not load the token packages (issue 18: idle RSS).
    private JsonWebTokenHandler? _handler;

    private JsonWebTokenHandler Handler => _handler ??= new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };

    /// <summary>The <c>iss</c> of our tokens.</summary>
    public string Issuer => auth.Token.External?.Issuer ?? auth.Token.Service;

    public async Task<IssuedToken> IssueAsync(string subject, IReadOnlyList<ResourceAccess> access, CancellationToken ct)
    {
        var key = await keys.SigningKeyAsync(ct);
        var now = _time.GetUtcNow();
        var lifetime = (int)auth.TokenLifetime.TotalSeconds;
        var payload = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = subject,
            ["aud"] = auth.Token.Service,
            ["exp"] = now.ToUnixTimeSeconds() + lifetime,
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            ["access"] = JsonSerializer.SerializeToNode(access, Json),
        };
        var header = new Dictionary<string, object> { ["x5c"] = new[] { Convert.ToBase64String(key.Certificate.RawData) } };
        var token = Handler.CreateToken(payload.ToJsonString(), new SigningCredentials(key.Key, key.Algorithm), header);
        return new IssuedToken(token, now, lifetime);
    }

    /// <summary>The token's grant when it is well formed, signed by a trusted key, for our service and current; else null.</summary>
    public async Task<BearerGrant?> ValidateAsync(string token, CancellationToken ct)
    {
        JsonWebToken parsed;
        try
        {
            parsed = new JsonWebToken(token);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenMalformedException or JsonException or FormatException)
        {
            return null;
        }

        var signingKeys = external is not null ? external.KeysFor(parsed) : await OwnKeyAsync(parsed, ct);
        if (signingKeys.Count == 0) return null;
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = auth.Token.Service,
            ClockSkew = Leeway,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidAlgorithms = external?.Algorithms ?? ["RS256", "ES256"],
            IssuerSigningKeys = signingKeys,
            TryAllIssuerSigningKeys = true,
            LifetimeValidator = (notBefore, expires, _, p) => ValidLifetime(notBefore, expires),
        };
        var result = await Handler.ValidateTokenAsync(parsed, parameters);
        return result.IsValid ? ReadGrant(parsed) : null;
    }

    private bool ValidLifetime(DateTime? notBefore, DateTime? expires)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return expires is { } exp && now <= exp.Add(Leeway) && (notBefore is not { } nbf || now >= nbf.Subtract(Leeway));
    }

    private async Task<IReadOnlyList<SecurityKey>> OwnKeyAsync(JsonWebToken token, CancellationToken ct) =>
        await keys.FindAsync(token.Kid, ct) is { } key ? [key] : [];

    /// <summary>The subject and the <c>access</c> claim; null when the claim is not a list of well-formed entries.</summary>
    private static BearerGrant? ReadGrant(JsonWebToken token)
    {
        try
        {
            using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.EncodedPayload));
            var root = payload.RootElement;
            var subject = root.TryGetProperty("sub", out var sub) && sub.ValueKind == JsonValueKind.String ? sub.GetString()! : "";
            if (!root.TryGetProperty("access", out var access) || access.ValueKind == JsonValueKind.Null) return new BearerGrant(subject, []);
            if (access.ValueKind != JsonValueKind.Array) return null;
            var entries = new List<ResourceAccess>();
            foreach (var entry in access.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object
                    || !entry.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
                    || !entry.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                    || !entry.TryGetProperty("actions", out var actions) || actions.ValueKind != JsonValueKind.Array
                    || actions.EnumerateArray().Any(a => a.ValueKind != JsonValueKind.String))
                    return null;
                entries.Add(new ResourceAccess(type.GetString()!, name.GetString()!, actions.EnumerateArray().Select(a => a.GetString()!).ToArray()));
            }
            return new BearerGrant(subject, entries);
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The header's <c>x5c</c> certificates (DER), or null when it has none or it is malformed.</summary>
    internal static IReadOnlyList<byte[]>? X5c(JsonWebToken token)
    {
        try
        {
            using var header = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.EncodedHeader));
            if (!header.RootElement.TryGetProperty("x5c", out var chain) || chain.ValueKind != JsonValueKind.Array) return null;
            return chain.EnumerateArray().Select(c => Convert.FromBase64String(c.GetString() ?? "")).ToArray();
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }
}
