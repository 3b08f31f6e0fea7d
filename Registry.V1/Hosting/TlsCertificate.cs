using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Registry.Core.Configuration;

namespace Registry.V1.Hosting;

/// <summary>The certificate of <see cref="RegistrySettings.Tls"/>; when set, the server speaks HTTPS.</summary>
public static class TlsCertificate
{
    public static X509Certificate2? Load(RegistrySettings settings)
    {
        if (settings.Tls is not { } tls) return null;
        try
        {
            var pem = X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath);
            // Kestrel on Linux needs the private key in an exportable form it can hand to OpenSSL.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException)
        {
            throw settings.Error("tls.certificate", $"cannot load certificate {tls.CertificatePath} with key {tls.KeyPath}: {e.Message}");
        }
    }
}
