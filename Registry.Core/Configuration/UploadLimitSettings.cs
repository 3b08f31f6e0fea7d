namespace Registry.Core.Configuration;

/// <summary>
/// How many layer uploads run at once and how the excess waits (top-level keys <c>max_uploads</c>,
/// <c>max_uploads_per_client</c>, <c>upload_queue_per_client</c>, <c>upload_queue_timeout_seconds</c>). An upload holds a
/// file handle, a temp file and a hashing pipeline for as long as its client trickles, so the server bounds them; a burst
/// beyond the bound waits for a slot instead of being refused, and slots go to the client running the fewest.
/// </summary>
public sealed record UploadLimitSettings
{
    /// <summary>Room for a build farm behind one NAT address pushing 64 layers at once.</summary>
    public const int DefaultMaxUploadsPerClient = 64;

    /// <summary>Twice the per-client cap: one flooding client leaves half the server to everyone else.</summary>
    public const int DefaultMaxUploads = 2 * DefaultMaxUploadsPerClient;

    public const int DefaultQueuePerClient = 256;
    public const int DefaultQueueTimeoutSeconds = 60;

    /// <summary><c>max_uploads</c>: uploads running on the whole server; 0 leaves it unbounded.</summary>
    public int MaxUploads { get; init; } = DefaultMaxUploads;

    /// <summary><c>max_uploads_per_client</c>: uploads one client address may run; 0 leaves only the server's bound.</summary>
    public int MaxUploadsPerClient { get; init; } = DefaultMaxUploadsPerClient;

    /// <summary><c>upload_queue_per_client</c>: uploads of one client that may wait for a slot; more answer 429 at once.</summary>
    public int QueuePerClient { get; init; } = DefaultQueuePerClient;

    /// <summary><c>upload_queue_timeout_seconds</c>: the longest wait for a slot before a 429.</summary>
    public TimeSpan QueueTimeout { get; init; } = TimeSpan.FromSeconds(DefaultQueueTimeoutSeconds);

    /// <summary>False when both bounds are 0: uploads are not counted at all.</summary>
    public bool Enabled => MaxUploads > 0 || MaxUploadsPerClient > 0;

    internal static UploadLimitSettings Read(SettingsReader read) => new()
    {
        MaxUploads = (int)read.Integer("max_uploads", DefaultMaxUploads, 0, int.MaxValue),
        MaxUploadsPerClient = (int)read.Integer("max_uploads_per_client", DefaultMaxUploadsPerClient, 0, int.MaxValue),
        QueuePerClient = (int)read.Integer("upload_queue_per_client", DefaultQueuePerClient, 0, int.MaxValue),
        // Task.WaitAsync accepts at most about 49 days.
        QueueTimeout = TimeSpan.FromSeconds(read.Integer("upload_queue_timeout_seconds", DefaultQueueTimeoutSeconds, 0, 86400)),
    };
}
