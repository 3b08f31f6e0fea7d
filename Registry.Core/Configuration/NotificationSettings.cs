using System.Globalization;
using System.Text.RegularExpressions;

namespace Registry.Core.Configuration;

/// <summary>
/// The <c>notifications:</c> section with the Go registry's names (distribution's configuration reference,
/// 'notifications'; docs/configuration.md, 'Notifications'): <c>endpoints</c>, each with <c>name</c>, <c>url</c>,
/// <c>headers</c>, <c>timeout</c>, <c>threshold</c>, <c>backoff</c>, <c>disabled</c>, <c>ignoredmediatypes</c> and
/// <c>ignore.mediatypes</c>/<c>ignore.actions</c>; plus our <c>outbox</c>, the local directory of the durable queues.
/// </summary>
public sealed partial record NotificationSettings
{
    /// <summary>The section's default: no endpoints, nothing queued.</summary>
    public static readonly NotificationSettings Off = new();

    /// <summary>Where the queues live when <c>outbox</c> is unset and storage is a local directory.</summary>
    public const string DefaultOutboxDir = "_notifications";

    /// <summary>Every endpoint, the disabled ones too (the start-up line names them).</summary>
    public IReadOnlyList<NotificationEndpoint> Endpoints { get; init; } = [];

    /// <summary>The directory that holds one queue folder per running instance; null when no endpoint is enabled.</summary>
    public string? OutboxPath { get; init; }

    public bool Enabled => Endpoints.Any(e => !e.Disabled);

    /// <summary>What start-up says about the section.</summary>
    public string Describe() => string.Join(", ", Endpoints.Select(e => $"{e.Name} ({e.Url.Scheme}://{e.Url.Authority}{e.Url.AbsolutePath}{(e.Disabled ? ", disabled" : "")})"))
        + (OutboxPath is null ? "" : $"; outbox {OutboxPath}");

    // Errors never repeat the variable's text: the endpoint list may carry credentials in headers or URLs.
    internal static NotificationSettings Read(SettingsReader read, string storage, string storagePath, string workingDirectory)
    {
        var endpoints = read.Get("notifications.endpoints") switch
        {
            null => [],
            string s when s.Trim().Length == 0 => [],
            IReadOnlyList<object?> items => items.Select((item, i) => Endpoint(read, $"notifications.endpoints[{i}]", item)).ToList(),
            var other => throw read.FailHidingValue("notifications.endpoints", $"expected a list of endpoints (maps with name and url), got {ConfigErrorContext.DescribeValue(other)}"),
        };
        var duplicate = endpoints.GroupBy(e => e.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw read.FailHidingValue("notifications.endpoints", $"the endpoint name \"{duplicate.Key}\" is used twice; names must be unique (each has its own queue)");

        var outbox = read.Text("notifications.outbox");
        if (string.IsNullOrWhiteSpace(outbox)) outbox = null;
        if (!endpoints.Any(e => !e.Disabled)) return new NotificationSettings { Endpoints = endpoints };
        if (outbox is null && storage != "file")
            throw read.FailHidingValue("notifications.outbox", $"notifications need a local directory for their queues when storage is {storage}; set notifications.outbox");
        var path = Path.GetFullPath(outbox ?? Path.Combine(storagePath, DefaultOutboxDir), workingDirectory);
        return new NotificationSettings { Endpoints = endpoints, OutboxPath = path };
    }

    private static NotificationEndpoint Endpoint(SettingsReader read, string key, object? item)
    {
        if (item is not IReadOnlyDictionary<string, object?> map)
            throw read.FailHidingValue(key, $"expected a map with name and url, got {ConfigErrorContext.DescribeValue(item)}");
        var name = map.GetValueOrDefault("name") switch
        {
            string s when s.Trim().Length > 0 => s,
            null or string => throw read.FailHidingValue($"{key}.name", "every endpoint needs a name"),
            var other => throw read.FailHidingValue($"{key}.name", $"expected a string, got {ConfigErrorContext.DescribeValue(other)} (quote the value to keep it a string)"),
        };
        var url = map.GetValueOrDefault("url") as string;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw read.FailHidingValue($"{key}.url", $"endpoint \"{name}\": expected an absolute http or https URL");
        var ignore = map.GetValueOrDefault("ignore") switch
        {
            null => null,
            IReadOnlyDictionary<string, object?> m => m,
            var other => throw read.FailHidingValue($"{key}.ignore", $"expected a map with mediatypes and actions, got {ConfigErrorContext.DescribeValue(other)}"),
        };
        var actions = Strings(read, $"{key}.ignore.actions", ignore?.GetValueOrDefault("actions"));
        var unknown = actions.FirstOrDefault(a => !NotificationEndpoint.Actions.Contains(a));
        if (unknown is not null)
            throw read.FailHidingValue($"{key}.ignore.actions", $"unknown action \"{unknown}\"; allowed: {string.Join(", ", NotificationEndpoint.Actions)}");
        return new NotificationEndpoint
        {
            Name = name,
            Url = uri,
            Headers = Headers(read, $"{key}.headers", map.GetValueOrDefault("headers")),
            Timeout = Duration(read, $"{key}.timeout", map.GetValueOrDefault("timeout")) ?? NotificationEndpoint.DefaultTimeout,
            Threshold = Threshold(read, $"{key}.threshold", map.GetValueOrDefault("threshold")),
            Backoff = Duration(read, $"{key}.backoff", map.GetValueOrDefault("backoff")) ?? NotificationEndpoint.DefaultBackoff,
            Disabled = map.GetValueOrDefault("disabled") switch
            {
                null => false,
                bool b => b,
                var other => throw read.FailHidingValue($"{key}.disabled", $"expected a boolean, got {ConfigErrorContext.DescribeValue(other)}"),
            },
            IgnoredMediaTypes = [.. Strings(read, $"{key}.ignoredmediatypes", map.GetValueOrDefault("ignoredmediatypes")),
                .. Strings(read, $"{key}.ignore.mediatypes", ignore?.GetValueOrDefault("mediatypes"))],
            IgnoredActions = actions,
        };
    }

    private static List<string> Strings(SettingsReader read, string key, object? value) => value switch
    {
        null => [],
        IReadOnlyList<object?> items => items.Select(i => i as string is { Length: > 0 } s
            ? s
            : throw read.FailHidingValue(key, $"expected a list of strings, got an item {ConfigErrorContext.DescribeValue(i)}")).ToList(),
        var other => throw read.FailHidingValue(key, $"expected a list of strings, got {ConfigErrorContext.DescribeValue(other)}"),
    };

    // distribution's headers are http.Header: each name maps to a list of values; one string is accepted as a list of one.
    private static IReadOnlyList<KeyValuePair<string, string>> Headers(SettingsReader read, string key, object? value)
    {
        if (value is null) return [];
        if (value is not IReadOnlyDictionary<string, object?> map)
            throw read.FailHidingValue(key, $"expected a map of header names to lists of values, got {ConfigErrorContext.DescribeValue(value)}");
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in map)
        {
            var list = values is string one ? [one] : Strings(read, $"{key}.{name}", values);
            headers.AddRange(list.Select(v => new KeyValuePair<string, string>(name, v)));
        }
        return headers;
    }

    private static int Threshold(SettingsReader read, string key, object? value) => value switch
    {
        null => NotificationEndpoint.DefaultThreshold,
        // distribution replaces a threshold of 0 or less by its default.
        long l when l <= 0 => NotificationEndpoint.DefaultThreshold,
        long l when l <= int.MaxValue => (int)l,
        var other => throw read.FailHidingValue(key, $"expected a whole number of failures, got {ConfigErrorContext.DescribeValue(other)}"),
    };

    /// <summary>A Go duration (<c>500ms</c>, <c>1s</c>, <c>1m30s</c>); zero means the default, as in distribution.</summary>
    private static TimeSpan? Duration(SettingsReader read, string key, object? value)
    {
        if (value is null) return null;
        if (value is string text && ParseGoDuration(text) is { } parsed) return parsed > TimeSpan.Zero ? parsed : null;
        throw read.FailHidingValue(key,
            $"expected a duration such as 500ms, 1s or 1m30s (units ns, us, ms, s, m, h), got {ConfigErrorContext.DescribeValue(value)}");
    }

    /// <summary>Go's <c>time.ParseDuration</c> for non-negative values; null when the text is not one.</summary>
    public static TimeSpan? ParseGoDuration(string text)
    {
        var t = text.Trim();
        if (t == "0") return TimeSpan.Zero;
        var match = GoDuration().Match(t);
        if (!match.Success) return null;
        double ticks = 0;
        foreach (Capture part in match.Groups["part"].Captures)
        {
            var m = GoDurationPart().Match(part.Value);
            var number = double.Parse(m.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            ticks += number * m.Groups[2].Value switch
            {
                "ns" => 0.01,
                "us" or "µs" or "μs" => 10,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                _ => TimeSpan.TicksPerHour,
            };
        }
        return ticks > TimeSpan.MaxValue.Ticks ? null : TimeSpan.FromTicks((long)ticks);
    }

    [GeneratedRegex(@"\A(?<part>[0-9]+(?:\.[0-9]*)?(?:ns|us|µs|μs|ms|s|m|h))+\z", RegexOptions.CultureInvariant)]
    private static partial Regex GoDuration();

    [GeneratedRegex(@"\A([0-9]+(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)\z", RegexOptions.CultureInvariant)]
    private static partial Regex GoDurationPart();
}

/// <summary>One <c>notifications.endpoints[]</c> entry; defaults are distribution's (threshold 10, backoff 1s, timeout 1s).</summary>
public sealed record NotificationEndpoint
{
    public const int DefaultThreshold = 10;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultBackoff = TimeSpan.FromSeconds(1);

    /// <summary>The event actions of distribution's notifications (event.go).</summary>
    public static readonly IReadOnlyList<string> Actions = ["push", "pull", "mount", "delete"];

    public required string Name { get; init; }

    public required Uri Url { get; init; }

    /// <summary>Extra request headers in order; a name may repeat.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Failures in a row after which each further attempt first waits <see cref="Backoff"/>.</summary>
    public int Threshold { get; init; } = DefaultThreshold;

    public TimeSpan Backoff { get; init; } = DefaultBackoff;

    public bool Disabled { get; init; }

    /// <summary><c>ignoredmediatypes</c> and <c>ignore.mediatypes</c> together: events whose target has one of these types are not sent.</summary>
    public IReadOnlyList<string> IgnoredMediaTypes { get; init; } = [];

    public IReadOnlyList<string> IgnoredActions { get; init; } = [];

    /// <summary>True when this endpoint wants an event with this action and target media type.</summary>
    public bool Wants(string action, string? mediaType) =>
        !Disabled && !IgnoredActions.Contains(action) && (mediaType is null || !IgnoredMediaTypes.Contains(mediaType));
}
