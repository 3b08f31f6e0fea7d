using System.Globalization;
using Registry.Core.Storage;

namespace Registry.Core.Configuration;

/// <summary>
/// Reads <see cref="S3StorageOptions"/> for an <c>s3</c> or <c>gcs</c> flavor. Unlike the rest of the file, these
/// keys keep the Python registry's leniency (boto read them as strings): numbers stand for strings, 0/1 and ""
/// for booleans.
/// </summary>
internal static class S3Section
{
    public static bool Applies(string storage) => storage is "s3" or "gcs";

    /// <summary>The options, or null when the storage is not S3 or no bucket is configured (see <see cref="MissingBucket"/>).</summary>
    public static S3StorageOptions? Read(SettingsReader read, string storage, string storagePath)
    {
        if (!Applies(storage)) return null;
        var gcs = storage == "gcs";
        if (gcs && Bool(read, "oauth2", false))
            throw Fail(read, "oauth2", "OAuth 2.0 access to Google Cloud Storage is not supported by this server; " +
                                       "use HMAC interoperability keys (gs_access_key, gs_secret_key) with oauth2 false");

        var bucket = gcs ? Text(read, "boto_bucket") : Text(read, "s3_bucket") ?? Text(read, "boto_bucket");
        var options = new S3StorageOptions
        {
            Bucket = bucket?.Trim() ?? "",
            Region = gcs ? "auto" : Text(read, "s3_region"),
            AccessKey = Text(read, gcs ? "gs_access_key" : "s3_access_key"),
            SecretKey = Text(read, gcs ? "gs_secret_key" : "s3_secret_key"),
            Secure = Bool(read, gcs ? "gs_secure" : "s3_secure", true),
            // GCS encrypts at rest by itself and refuses the SSE-S3 header.
            Encrypt = !gcs && Bool(read, "s3_encrypt", false),
            Host = Text(read, "boto_host") ?? (gcs ? S3StorageOptions.GcsHost : null),
            Port = Port(read, "boto_port"),
            Prefix = storagePath.Trim('/'),
            BatchDelete = !gcs,
        };
        return string.IsNullOrWhiteSpace(bucket) ? null : options;
    }

    /// <summary>
    /// Raised when the S3 driver is chosen rather than at load, so that <c>config</c> can still print a flavor whose
    /// bucket is not set yet.
    /// </summary>
    public static ConfigException MissingBucket(RegistrySettings settings)
    {
        var context = new ConfigErrorContext(settings.SourceFile, settings.Flavor);
        return settings.Storage == "gcs"
            ? context.Fail("boto_bucket", null, "no bucket configured: set boto_bucket (environment variable GCS_BUCKET in the sample config)")
            : context.Fail("s3_bucket", null, "no bucket configured: set s3_bucket or boto_bucket (environment variable AWS_BUCKET in the sample config)");
    }

    private static ConfigException Fail(SettingsReader read, string key, string problem) => read.Context.Fail(key, null, problem);

    private static string? Text(SettingsReader read, string key) => read.Get(key) switch
    {
        null => null,
        string s => s.Length == 0 ? null : s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        var other => throw Fail(read, key, $"expected a string, got {ConfigErrorContext.DescribeValue(other)}"),
    };

    private static bool Bool(SettingsReader read, string key, bool fallback) => read.Get(key) switch
    {
        null => fallback,
        bool b => b,
        string s when s.Length == 0 => fallback,
        long l when l is 0 or 1 => l == 1,
        var other => throw Fail(read, key, $"expected a boolean, got {ConfigErrorContext.DescribeValue(other)}"),
    };

    private static int? Port(SettingsReader read, string key)
    {
        var value = read.Get(key);
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
            throw Fail(read, key, $"expected a port number (1-65535), got {ConfigErrorContext.DescribeValue(value)}");
        return (int)port.Value;
    }
}
