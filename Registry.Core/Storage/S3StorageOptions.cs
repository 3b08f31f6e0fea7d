using System.Globalization;
using Registry.Core.Configuration;

namespace Registry.Core.Storage;

/// <summary>
/// Where and how <see cref="S3StorageDriver"/> stores objects, read from a flavor's keys (spec §8.3):
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

    /// <summary>
    /// Reads the options of an <c>s3</c> or <c>gcs</c> flavor. Throws <see cref="ConfigException"/> naming the key
    /// (and the sample config's variable) when the bucket is missing or a value has the wrong type.
    /// </summary>
    public static S3StorageOptions FromSettings(RegistrySettings settings)
    {
        var reader = new Reader(settings);
        var gcs = string.Equals(settings.Storage, "gcs", StringComparison.OrdinalIgnoreCase);
        if (gcs && reader.Bool("oauth2", false))
            throw reader.Fail("oauth2", "OAuth 2.0 access to Google Cloud Storage is not supported by this server; " +
                                        "use HMAC interoperability keys (gs_access_key, gs_secret_key) with oauth2 false");

        var bucketKey = gcs ? "boto_bucket" : "s3_bucket";
        var bucket = gcs ? reader.Text("boto_bucket") : reader.Text("s3_bucket") ?? reader.Text("boto_bucket");
        if (string.IsNullOrWhiteSpace(bucket))
        {
            var hint = gcs
                ? "no bucket configured: set boto_bucket (environment variable GCS_BUCKET in the sample config)"
                : "no bucket configured: set s3_bucket or boto_bucket (environment variable AWS_BUCKET in the sample config)";
            throw reader.Fail(bucketKey, hint);
        }

        return new S3StorageOptions
        {
            Bucket = bucket.Trim(),
            Region = gcs ? "auto" : reader.Text("s3_region"),
            AccessKey = reader.Text(gcs ? "gs_access_key" : "s3_access_key"),
            SecretKey = reader.Text(gcs ? "gs_secret_key" : "s3_secret_key"),
            Secure = reader.Bool(gcs ? "gs_secure" : "s3_secure", true),
            // GCS encrypts at rest by itself and refuses the SSE-S3 header.
            Encrypt = !gcs && reader.Bool("s3_encrypt", false),
            Host = reader.Text("boto_host") ?? (gcs ? GcsHost : null),
            Port = reader.Port("boto_port"),
            Prefix = settings.StoragePath.Trim('/'),
            BatchDelete = !gcs,
        };
    }

    private sealed class Reader(RegistrySettings settings)
    {
        public ConfigException Fail(string key, string problem) =>
            new ConfigErrorContext(settings.SourceFile, settings.Flavor).Fail(key, null, problem);

        public string? Text(string key) => settings.Values.GetValueOrDefault(key) switch
        {
            null => null,
            string s => s.Length == 0 ? null : s,
            long l => l.ToString(CultureInfo.InvariantCulture),
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            var other => throw Fail(key, $"expected a string, got {ConfigErrorContext.DescribeValue(other)}"),
        };

        public bool Bool(string key, bool fallback) => settings.Values.GetValueOrDefault(key) switch
        {
            null => fallback,
            bool b => b,
            string s when s.Length == 0 => fallback,
            long l when l is 0 or 1 => l == 1,
            var other => throw Fail(key, $"expected a boolean, got {ConfigErrorContext.DescribeValue(other)}"),
        };

        public int? Port(string key)
        {
            var value = settings.Values.GetValueOrDefault(key);
            long? port = value switch
            {
                null => null,
                string s when s.Length == 0 => null,
                long l => l,
                string s when long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) => parsed,
                _ => -1,
            };
            if (port is null) return null;
            if (port is < 1 or > 65535)
                throw Fail(key, $"expected a port number (1-65535), got {ConfigErrorContext.DescribeValue(value)}");
            return (int)port.Value;
        }
    }
}
