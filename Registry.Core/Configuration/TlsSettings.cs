namespace Registry.Core.Configuration;

/// <summary>The <c>tls: {certificate, key}</c> PEM files; when set, the server speaks only HTTPS.</summary>
public sealed record TlsSettings(string CertificatePath, string KeyPath)
{
    /// <summary>Null when neither file is set; one without the other is an error naming the missing key.</summary>
    internal static TlsSettings? Read(SettingsReader read)
    {
        var certificate = read.Get("tls.certificate")?.ToString();
        var key = read.Get("tls.key")?.ToString();
        if (string.IsNullOrEmpty(certificate) && string.IsNullOrEmpty(key)) return null;
        if (string.IsNullOrEmpty(certificate)) throw read.Fail("tls.certificate", "both tls.certificate and tls.key are needed");
        if (string.IsNullOrEmpty(key)) throw read.Fail("tls.key", "both tls.certificate and tls.key are needed");
        return new TlsSettings(certificate, key);
    }
}
