using System.Globalization;

namespace Registry.Core.Configuration;

/// <summary>
/// Metrics, log format and the debug listener (docs/configuration.md, 'Metrics, audit log and log format'). Our own keys
/// (<c>metrics:</c>, <c>log_format</c>) and the Go registry's (<c>http.debug.*</c>, <c>log.formatter</c>) are both read;
/// a Go key that is set wins, so a configuration written for distribution keeps its meaning.
/// </summary>
public sealed record ObservabilitySettings
{
    public const string DefaultMetricsPath = "/metrics";

    /// <summary>Accepted log formats.</summary>
    public static readonly IReadOnlyList<string> LogFormats = ["text", "json"];

    /// <summary><c>metrics.enabled</c> or <c>http.debug.prometheus.enabled</c>: serve Prometheus metrics.</summary>
    public bool MetricsEnabled { get; init; } = true;

    /// <summary><c>metrics.path</c> or <c>http.debug.prometheus.path</c>; starts with '/'.</summary>
    public string MetricsPath { get; init; } = DefaultMetricsPath;

    /// <summary>
    /// <c>metrics.addr</c> or <c>http.debug.addr</c>: a second, plain-HTTP listener that serves only the metrics and the
    /// health routes; the main port then has no metrics. Null: metrics on the main port.
    /// </summary>
    public ListenAddress? DebugAddress { get; init; }

    /// <summary><c>log_format</c> or <c>log.formatter</c>: "text" (one line each) or "json" (one JSON object a line).</summary>
    public string LogFormat { get; init; } = "text";

    public bool JsonLogs => LogFormat == "json";

    internal static ObservabilitySettings Read(SettingsReader read, ListenAddress main)
    {
        var enabled = Nested(read, "http.debug.prometheus.enabled") is { } goEnabled
            ? Boolean(read, "http.debug.prometheus.enabled", goEnabled)
            : read.Boolean("metrics.enabled") ?? true;
        var pathKey = Nested(read, "http.debug.prometheus.path") is not null ? "http.debug.prometheus.path" : "metrics.path";
        var path = Text(read, pathKey) ?? DefaultMetricsPath;
        if (!path.StartsWith('/') || path.Length < 2 || path.Any(c => c <= ' ' || c is '?' or '#'))
            throw read.Fail(pathKey, $"expected an absolute URL path such as {DefaultMetricsPath}, got \"{path}\"");
        var addrKey = Nested(read, "http.debug.addr") is not null ? "http.debug.addr" : "metrics.addr";
        var debug = Address(read, addrKey);
        if (debug is not null && debug.Port == main.Port)
            throw read.Fail(addrKey, $"the debug listener needs a port of its own; {main.Port} is the registry's port");
        var formatKey = Nested(read, "log.formatter") is not null ? "log.formatter" : "log_format";
        var format = (Text(read, formatKey) ?? "text").Trim().ToLowerInvariant();
        if (format.Length == 0) format = "text";
        if (!LogFormats.Contains(format))
            throw read.Fail(formatKey, $"expected one of {string.Join(", ", LogFormats)}; got \"{format}\"");
        return new ObservabilitySettings { MetricsEnabled = enabled, MetricsPath = path, DebugAddress = debug, LogFormat = format };
    }

    /// <summary>"host:port", ":port" (all interfaces, as Go spells it) or "[v6]:port"; empty means none.</summary>
    private static ListenAddress? Address(SettingsReader read, string key)
    {
        var text = Nested(read, key) switch
        {
            null => null,
            long port => ":" + port.ToString(CultureInfo.InvariantCulture),
            string s => s.Trim(),
            var other => throw read.Fail(key, $"expected host:port, got {ConfigErrorContext.DescribeValue(other)}"),
        };
        if (string.IsNullOrEmpty(text)) return null;
        var colon = text.LastIndexOf(':');
        var host = colon < 0 ? "" : text[..colon];
        if (colon < 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535
            || host.Contains(':') && !(host.StartsWith('[') && host.EndsWith(']')))
            throw read.Fail(key, $"expected host:port (e.g. 127.0.0.1:5001, or :5001 for every interface), got \"{text}\"");
        return new ListenAddress(host.Length == 0 ? "0.0.0.0" : host, number);
    }

    /// <summary>A value under nested maps (<c>http.debug.prometheus.enabled</c>), which <see cref="SettingsReader.Get"/> reads only one level deep.</summary>
    private static object? Nested(SettingsReader read, string path)
    {
        var parts = path.Split('.');
        object? value = read.Get(parts[0]);
        for (var i = 1; i < parts.Length && value is not null; i++)
        {
            value = value is IReadOnlyDictionary<string, object?> map
                ? map.GetValueOrDefault(parts[i])
                : throw read.Fail(string.Join('.', parts[..i]), $"expected a map of settings, got {ConfigErrorContext.DescribeValue(value)}");
        }
        return value;
    }

    private static bool Boolean(SettingsReader read, string key, object value) =>
        value as bool? ?? throw read.Fail(key, $"expected a boolean (true/false), got {ConfigErrorContext.DescribeValue(value)}");

    private static string? Text(SettingsReader read, string key) => Nested(read, key) switch
    {
        null => null,
        string s => s,
        var other => throw read.Fail(key, $"expected a string, got {ConfigErrorContext.DescribeValue(other)}"),
    };
}
