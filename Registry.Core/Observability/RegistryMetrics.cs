using Prometheus;
using Registry.Core.Maintenance;

namespace Registry.Core.Observability;

/// <summary>
/// Every Prometheus metric the registry exports, in one place. prometheus-net rather than the OpenTelemetry exporter:
/// it is a stable release (the OpenTelemetry Prometheus exporter is still a beta), it writes the text format itself
/// and needs no SDK pipeline, and static metrics let code without a service container (upload slots, the collector)
/// count. The metrics are process-wide: two hosts in one process (the tests' in-process apps) share them.
/// </summary>
public static class RegistryMetrics
{
    /// <summary>The route label of a request no route matched (raw paths would make the label set unbounded).</summary>
    public const string UnmatchedRoute = "unmatched";

    // Field initializers run in textual order: this one runs before any metric below is created, as the library requires.
    // Process metrics stay; event counters and every System.Diagnostics.Metrics meter (ASP.NET Core's own request
    // metrics among them) would duplicate ours at a cost per request, and the debug metrics describe the library.
    private static readonly bool DefaultsChosen = ChooseDefaults();

    private static readonly string[] RouteLabels = ["route", "method"];

    public static readonly Counter HttpRequests = Metrics.CreateCounter(
        "registry_http_requests_total", "HTTP requests by route template, method and status code.",
        new CounterConfiguration { LabelNames = ["route", "method", "code"] });

    public static readonly Histogram HttpRequestDuration = Metrics.CreateHistogram(
        "registry_http_request_duration_seconds", "Time from the request's arrival to the end of its response, by route template and method.",
        new HistogramConfiguration { LabelNames = RouteLabels, Buckets = Histogram.ExponentialBuckets(0.001, 2.5, 14) });

    public static readonly Counter HttpRequestBytes = Metrics.CreateCounter(
        "registry_http_request_bytes_total", "Request body bytes read, by route template and method.",
        new CounterConfiguration { LabelNames = RouteLabels });

    public static readonly Counter HttpResponseBytes = Metrics.CreateCounter(
        "registry_http_response_bytes_total", "Response body bytes written, by route template and method.",
        new CounterConfiguration { LabelNames = RouteLabels });

    public static readonly Gauge UploadsInFlight = Metrics.CreateGauge(
        "registry_uploads_in_flight", "Layer uploads (V1 layer PUT, v2 blob POST/PATCH/PUT) holding an upload slot.");

    public static readonly Histogram SearchDuration = Metrics.CreateHistogram(
        "registry_search_duration_seconds", "Time the search service takes for GET /v1/search.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2.5, 12) });

    public static readonly Counter StorageErrors = Metrics.CreateCounter(
        "registry_storage_errors_total", "Requests answered 503 because the storage driver failed.");

    public static readonly Counter IndexDatabaseErrors = Metrics.CreateCounter(
        "registry_index_database_errors_total", "Requests answered 503 because the index database could not be reached.");

    public static readonly Counter GcRuns = Metrics.CreateCounter(
        "registry_gc_runs_total", "Completed garbage collection runs (dry runs included).",
        new CounterConfiguration { LabelNames = ["dry_run"] });

    public static readonly Counter GcFreedBytes = Metrics.CreateCounter(
        "registry_gc_freed_bytes_total", "Storage bytes garbage collection deleted (dry runs not counted).");

    /// <summary>
    /// Background fills of the blob cache by result: <c>kept</c> (all bytes read, digest matched, stored), <c>failed</c>
    /// (the store, the local disk or a digest that did not match), <c>dropped</c> (the fill queue was full).
    /// </summary>
    public static readonly Counter BlobCacheFills = Metrics.CreateCounter(
        "registry_blob_cache_fills_total", "Background fills of the blob cache by result (kept, failed, dropped).",
        new CounterConfiguration { LabelNames = ["result"] });

    /// <summary>Events waiting in the notification outbox, over all endpoints.</summary>
    public static readonly Gauge NotificationQueueDepth = Metrics.CreateGauge(
        "registry_notifications_queue_depth", "Notification events waiting for delivery.");

    /// <summary>Failed notification delivery attempts (each retry counts).</summary>
    public static readonly Counter NotificationFailures = Metrics.CreateCounter(
        "registry_notifications_failures_total", "Failed notification delivery attempts.");

    private static bool ChooseDefaults()
    {
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions
        {
            SuppressEventCounters = true,
            SuppressMeters = true,
            SuppressDebugMetrics = true,
        });
        return true;
    }

    /// <summary>Observes <see cref="SearchDuration"/> when disposed.</summary>
    public static IDisposable TimeSearch() => SearchDuration.NewTimer();

    /// <summary>Counts a finished collection run.</summary>
    public static void GcCompleted(GcReport report)
    {
        GcRuns.WithLabels(report.DryRun ? "true" : "false").Inc();
        if (!report.DryRun) GcFreedBytes.Inc(report.TotalBytes);
    }

    /// <summary>Writes every metric in the Prometheus text exposition format.</summary>
    public static Task WriteAsync(Stream destination, CancellationToken ct) => Metrics.DefaultRegistry.CollectAndExportAsTextAsync(destination, ct);

    /// <summary>The content type of <see cref="WriteAsync"/>'s output (Prometheus text format 0.0.4).</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";
}
