namespace Registry.Core.Storage;

/// <summary>
/// Where and how <see cref="S3StorageDriver"/> stores objects: <c>RegistrySettings.S3</c>, read from a flavor's keys (docs/configuration.md, 'Settings'):
/// <c>s3_bucket</c>/<c>boto_bucket</c>, <c>s3_region</c>, <c>s3_access_key</c>, <c>s3_secret_key</c>,
/// <c>s3_secure</c>, <c>s3_encrypt</c>, <c>s3_use_sigv4</c>, <c>boto_host</c>/<c>boto_port</c> and
/// <c>storage_path</c>; for <c>storage: gcs</c> the S3 interoperability endpoint of Google Cloud Storage with
/// <c>gs_access_key</c>, <c>gs_secret_key</c> and <c>gs_secure</c>.
/// </summary>
public sealed record S3StorageOptions
{
    /// <summary>Google Cloud Storage's S3-compatible (XML API) endpoint.</summary>
    public const string GcsHost = "storage.googleapis.com";

    /// <summary>The region requests are signed for when none is configured.</summary>
    public const string DefaultRegion = "us-east-1";

    public required string Bucket { get; init; }

    /// <summary>The AWS region (or the signing region of a custom endpoint); null means <see cref="DefaultRegion"/>.</summary>
    public string? Region { get; init; }

    /// <summary>With <see cref="SecretKey"/>: static credentials. Both null: the SDK's default credential chain.</summary>
    public string? AccessKey { get; init; }

    public string? SecretKey { get; init; }

    /// <summary>HTTPS (true) or plain HTTP to the store.</summary>
    public bool Secure { get; init; } = true;

    /// <summary>Server-side encryption (SSE-S3, AES256) of every object written.</summary>
    public bool Encrypt { get; init; }

    /// <summary>A custom endpoint (host name, or a URL with scheme); null means AWS itself. Always path-style.</summary>
    public string? Host { get; init; }

    public int? Port { get; init; }

    /// <summary><c>storage_path</c> without leading or trailing '/': every key is stored as <c>Prefix/key</c>.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>Whether the store has the multi-object DeleteObjects call (GCS's XML API does not).</summary>
    public bool BatchDelete { get; init; } = true;

    /// <summary>The endpoint URL for a custom host, or null for AWS.</summary>
    public Uri? ServiceUrl
    {
        get
        {
            if (Host is null) return null;
            var url = Host.Contains("://", StringComparison.Ordinal) ? Host : (Secure ? "https://" : "http://") + Host;
            var builder = new UriBuilder(url);
            if (Port is { } port) builder.Port = port;
            return builder.Uri;
        }
    }
}
