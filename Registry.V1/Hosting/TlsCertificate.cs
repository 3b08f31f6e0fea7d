using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Registry.Core.Configuration;

namespace Registry.V1.Hosting;

/// <summary>The <c>tls: {certificate, key}</c> PEM files of the config; when set, the server speaks HTTPS.</summary>
public static class TlsCertificate
{
    public static X509Certificate2? Load(RegistrySettings settings)
    {
        var tls = settings.Values.GetValueOrDefault("tls") as IReadOnlyDictionary<string, object?>;
        var certificate = tls?.GetValueOrDefault("certificate")?.ToString();
        var key = tls?.GetValueOrDefault("key")?.ToString();
        if (string.IsNullOrEmpty(certificate) && string.IsNullOrEmpty(key)) return null;
        var where = $"config error in {settings.SourceFile}, flavor \"{settings.Flavor}\"";
        if (string.IsNullOrEmpty(certificate) || string.IsNullOrEmpty(key))
            throw new ConfigException($"{where}, key \"tls\" (from $REGISTRY_TLS_CERTIFICATE / $REGISTRY_TLS_KEY): both tls.certificate and tls.key are needed");
        try
        {
            var pem = X509Certificate2.CreateFromPemFile(certificate, key);
            // Kestrel on Linux needs the private key in an exportable form it can hand to OpenSSL.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{where}, key \"tls\": cannot load certificate {certificate} with key {key}: {e.Message}");
        }
    }
}
