using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Registry.Core.Configuration;

namespace Registry.Index.Accounts.Bearer;

/// <summary>
/// The keys an external token server (<c>auth.backend: token</c>) signs with, as the Go registry trusts them
/// (distribution's configuration reference, 'token'): a token whose header has <c>x5c</c> must chain to a
/// certificate of <c>rootcertbundle</c> and is checked with its leaf's key; otherwise its <c>kid</c> names a key of
/// the <c>jwks</c> file or the libtrust key id of a bundle certificate. Both files are read once, at start-up.
/// </summary>
public sealed class ExternalIssuerKeys
{
    private readonly X509Certificate2Collection _roots = [];
    private readonly Dictionary<string, SecurityKey> _byKid = new(StringComparer.Ordinal);

    public ExternalIssuerKeys(ExternalTokenIssuer issuer)
    {
        Algorithms = issuer.SigningAlgorithms.ToArray();
        if (issuer.RootCertBundle is { } bundle)
        {
            _roots.ImportFromPemFile(bundle);
            if (_roots.Count == 0) throw new InvalidDataException($"{bundle} holds no PEM certificate");
            foreach (var certificate in _roots)
                if (PublicKey(certificate) is { } key) _byKid[TokenSigningKeys.LibtrustKeyId(certificate)] = key;
        }
        if (issuer.Jwks is { } jwks)
        {
            var set = new JsonWebKeySet(File.ReadAllText(jwks)) { SkipUnresolvedJsonWebKeys = true };
            foreach (var key in set.Keys)
                if (!string.IsNullOrEmpty(key.Kid)) _byKid[key.Kid] = key;
        }
    }

    /// <summary>The JWS algorithms accepted (<c>auth.token.signingalgorithms</c>).</summary>
    public IReadOnlyList<string> Algorithms { get; }

    /// <summary>The key(s) that may have signed <paramref name="token"/>; empty when none is trusted.</summary>
    public IReadOnlyList<SecurityKey> KeysFor(JsonWebToken token)
    {
        if (BearerTokens.X5c(token) is { Count: > 0 } chain)
            return ChainedLeafKey(chain) is { } leaf ? [leaf] : [];
        return !string.IsNullOrEmpty(token.Kid) && _byKid.TryGetValue(token.Kid, out var key) ? [key] : [];
    }

    private SecurityKey? ChainedLeafKey(IReadOnlyList<byte[]> chain)
    {
        if (_roots.Count == 0) return null;
        try
        {
            using var leaf = X509CertificateLoader.LoadCertificate(chain[0]);
            using var builder = new X509Chain();
            builder.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            builder.ChainPolicy.CustomTrustStore.AddRange(_roots);
            builder.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            foreach (var intermediate in chain.Skip(1)) builder.ChainPolicy.ExtraStore.Add(X509CertificateLoader.LoadCertificate(intermediate));
            return builder.Build(leaf) ? PublicKey(leaf) : null;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static SecurityKey? PublicKey(X509Certificate2 certificate) =>
        certificate.GetRSAPublicKey() is { } rsa ? new RsaSecurityKey(rsa)
        : certificate.GetECDsaPublicKey() is { } ec ? new ECDsaSecurityKey(ec)
        : null;
}
