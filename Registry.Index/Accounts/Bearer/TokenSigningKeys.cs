using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.IdentityModel.Tokens;
using Registry.Core.Configuration;
using Registry.Core.Storage;

namespace Registry.Index.Accounts.Bearer;

/// <summary>A key that signs tokens: its <c>kid</c>, its JWS algorithm and the certificate sent as <c>x5c</c>.</summary>
public sealed record SigningKey(SecurityKey Key, string Algorithm, X509Certificate2 Certificate)
{
    public string KeyId => Key.KeyId;
}

/// <summary>
/// The keys of the built-in token server. A configured key (<c>auth.token_key</c> + <c>auth.token_certificate</c>)
/// is the only one. Otherwise keys live in storage under <see cref="KeysDirectory"/>, one PEM file (certificate and
/// PKCS#8 key) per key, and a key is generated when there is none. Storage has no create-if-absent, so instances
/// starting together may each store a key: each signs with the first file it listed, and every instance accepts a
/// token signed by any key of the folder (an unknown <c>kid</c> lists the folder again), so they still agree.
/// </summary>
public sealed class TokenSigningKeys(AuthSettings auth, IStorageDriver storage, TimeProvider? time = null)
{
    public const string KeysDirectory = "_auth/token_keys";
    private static readonly TimeSpan RelistInterval = TimeSpan.FromSeconds(5);
    private const int RelistsPerInterval = 3;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    // Made on first use, as BearerTokens' handler is: a server that never sees a token does not load the token packages.
    private ConcurrentDictionary<string, SecurityKey>? _knownKeys;
    private readonly SemaphoreSlim _relist = new(1, 1);
    private DateTimeOffset _relistWindow = DateTimeOffset.MinValue;
    private int _relistsInWindow;
    private Task<SigningKey>? _signing;

    private ConcurrentDictionary<string, SecurityKey> Known =>
        LazyInitializer.EnsureInitialized(ref _knownKeys, () => new ConcurrentDictionary<string, SecurityKey>(StringComparer.Ordinal));

    /// <summary>The key that signs new tokens (loaded or created on first use; tried again after a failure, e.g. storage down).</summary>
    public Task<SigningKey> SigningKeyAsync(CancellationToken ct)
    {
        var signing = _signing;
        if (signing is null || signing.IsFaulted || signing.IsCanceled) _signing = signing = LoadSigningKeyAsync(CancellationToken.None);
        return signing;
    }

    /// <summary>A key of ours with this <c>kid</c>, or null.</summary>
    public async Task<SecurityKey?> FindAsync(string? kid, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(kid)) return null;
        await SigningKeyAsync(ct);
        if (Known.TryGetValue(kid, out var key)) return key;
        if (auth.Token.KeyPath is not null) return null;

        await _relist.WaitAsync(ct);
        try
        {
            if (Known.TryGetValue(kid, out key)) return key;
            // Random kids must not turn every request into a storage listing, but a key another instance stored just
            // after our last listing (instances starting together) must be found at once: a few listings per interval.
            var now = _time.GetUtcNow();
            if (now - _relistWindow >= RelistInterval) (_relistWindow, _relistsInWindow) = (now, 0);
            if (_relistsInWindow >= RelistsPerInterval) return null;
            _relistsInWindow++;
            await ListStoredAsync(ct);
            return Known.GetValueOrDefault(kid);
        }
        finally
        {
            _relist.Release();
        }
    }

    /// <summary>
    /// The key id docker/distribution computes for a public key (libtrust's <c>KeyID</c>: the SHA-256 of the DER
    /// SubjectPublicKeyInfo, its first 240 bits in base32, in twelve groups of four joined by ':'), so that a Go
    /// registry given our certificate as <c>rootcertbundle</c> finds the key by <c>kid</c>.
    /// </summary>
    public static string LibtrustKeyId(X509Certificate2 certificate)
    {
        var hash = SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()).AsSpan(0, 30);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var text = new StringBuilder(48);
        for (var i = 0; i < 240; i += 5)
        {
            var value = 0;
            for (var bit = i; bit < i + 5; bit++) value = (value << 1) | ((hash[bit / 8] >> (7 - bit % 8)) & 1);
            text.Append(alphabet[value]);
        }
        return string.Join(':', text.ToString().Chunk(4).Select(c => new string(c)));
    }

    /// <summary>A certificate with its private key as a signing key; null when its key type does not suit <paramref name="algorithm"/>.</summary>
    public static SigningKey? ToSigningKey(X509Certificate2 certificate, string algorithm)
    {
        var kid = LibtrustKeyId(certificate);
        SecurityKey? key = algorithm switch
        {
            "RS256" when certificate.GetRSAPrivateKey() is { } rsa => new RsaSecurityKey(rsa) { KeyId = kid },
            "ES256" when certificate.GetECDsaPrivateKey() is { } ec && ec.KeySize == 256 => new ECDsaSecurityKey(ec) { KeyId = kid },
            _ => null,
        };
        return key is null ? null : new SigningKey(key, algorithm, certificate);
    }

    /// <summary>The configured PEM pair as a signing key; an error message when it cannot be used.</summary>
    public static (SigningKey? Key, string? Error) LoadConfigured(TokenAuthSettings token)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(token.CertificatePath!, token.KeyPath!);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException)
        {
            return (null, $"cannot read the key and certificate: {e.Message}");
        }
        return ToSigningKey(certificate, token.SigningAlgorithm) is { } key
            ? (key, null)
            : (null, $"the key does not suit {token.SigningAlgorithm} (RS256 needs an RSA key, ES256 a P-256 key)");
    }

    private async Task<SigningKey> LoadSigningKeyAsync(CancellationToken ct)
    {
        if (auth.Token.KeyPath is not null)
        {
            var (configured, error) = LoadConfigured(auth.Token);
            if (configured is null) throw new InvalidOperationException(error);
            Known[configured.KeyId] = configured.Key;
            return configured;
        }

        var mine = await ListStoredAsync(ct);
        if (mine.Count == 0)
        {
            var generated = Generate(auth.Token.SigningAlgorithm);
            await storage.PutContentAsync(PathOf(auth.Token.SigningAlgorithm, generated.KeyId), Pem(generated), ct);
            mine = await ListStoredAsync(ct);
        }
        return mine.Count > 0 ? mine[0] : throw new IOException($"the token signing key could not be stored under {KeysDirectory}");
    }

    /// <summary>Reads every stored key into <see cref="Known"/>; returns those of the configured algorithm, in listing order.</summary>
    private async Task<List<SigningKey>> ListStoredAsync(CancellationToken ct)
    {
        var mine = new List<SigningKey>();
        foreach (var algorithm in new[] { "ES256", "RS256" })
        {
            foreach (var path in await storage.ListAsync($"{KeysDirectory}/{algorithm.ToLowerInvariant()}", ct))
            {
                if (await storage.GetContentAsync(path, ct) is not { } content) continue;
                SigningKey? key;
                try
                {
                    var pem = Encoding.ASCII.GetString(content);
                    key = ToSigningKey(X509Certificate2.CreateFromPem(pem, pem), algorithm);
                }
                catch (CryptographicException)
                {
                    continue;
                }
                if (key is null) continue;
                Known[key.KeyId] = key.Key;
                if (algorithm == auth.Token.SigningAlgorithm) mine.Add(key);
            }
        }
        return mine;
    }

    private static SigningKey Generate(string algorithm)
    {
        var subject = new X500DistinguishedName("CN=registry token signer");
        var now = DateTimeOffset.UtcNow;
        X509Certificate2 certificate;
        if (algorithm == "ES256")
        {
            using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            certificate = new CertificateRequest(subject, ec, HashAlgorithmName.SHA256).CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        }
        else
        {
            using var rsa = RSA.Create(2048);
            certificate = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        }
        return ToSigningKey(certificate, algorithm)!;
    }

    private static byte[] Pem(SigningKey key)
    {
        AsymmetricAlgorithm privateKey = key.Algorithm == "ES256" ? key.Certificate.GetECDsaPrivateKey()! : key.Certificate.GetRSAPrivateKey()!;
        return Encoding.ASCII.GetBytes(key.Certificate.ExportCertificatePem() + "\n" + privateKey.ExportPkcs8PrivateKeyPem() + "\n");
    }

    private static string PathOf(string algorithm, string kid) => $"{KeysDirectory}/{algorithm.ToLowerInvariant()}/{kid.Replace(":", "", StringComparison.Ordinal)}.pem";
}
