using System.Globalization;
using System.Text.RegularExpressions;

namespace Registry.Core.Configuration;

/// <summary>
/// The <c>cors:</c> section of the original's <c>config_sample.yml</c> (docs/configuration.md, 'CORS'). The original
/// handed these keys to Flask-CORS, so they mean what the Flask-CORS documentation ('Configuration options') says:
/// <c>origins</c> (strings or regular expressions, <c>*</c> for any), <c>methods</c>, <c>headers</c> (the allowed
/// request headers, <c>*</c> for any), <c>expose_headers</c>, <c>supports_credentials</c>, <c>max_age</c>,
/// <c>send_wildcard</c>, <c>always_send</c>, <c>automatic_options</c>, <c>vary_header</c> and <c>resources</c>
/// (path regular expressions). CORS is on when <c>origins</c> is set.
/// </summary>
public sealed record CorsSettings
{
    /// <summary>Flask-CORS's default <c>methods</c>.</summary>
    public static readonly IReadOnlyList<string> DefaultMethods = ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"];

    // Origins and request headers come from the caller; a pattern that backtracks badly must not hold a thread.
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    // Flask-CORS treats an entry with one of these characters as a regular expression, others as a literal.
    private static readonly char[] RegexCharacters = ['*', '\\', '[', ']', '?', '$', '^', '(', ')'];

    public static readonly CorsSettings Off = new();

    /// <summary>The allowed origins; empty means CORS is off.</summary>
    public IReadOnlyList<CorsPattern> Origins { get; init; } = [];

    public bool AnyOrigin => Origins.Any(o => o.IsWildcard);

    public bool Enabled => Origins.Count > 0;

    public IReadOnlyList<string> Methods { get; init; } = DefaultMethods;

    /// <summary>The request headers a preflight may ask for; null means any.</summary>
    public IReadOnlyList<CorsPattern>? Headers { get; init; }

    public IReadOnlyList<string> ExposeHeaders { get; init; } = [];

    public bool SupportsCredentials { get; init; }

    public long? MaxAgeSeconds { get; init; }

    public bool SendWildcard { get; init; }

    public bool AlwaysSend { get; init; } = true;

    public bool AutomaticOptions { get; init; } = true;

    public bool VaryHeader { get; init; } = true;

    /// <summary>Paths CORS applies to, matched from the start of the path; the default <c>/*</c> matches every path.</summary>
    public IReadOnlyList<Regex> Resources { get; init; } = [Anchored("/*", RegexOptions.None)];

    public bool AppliesTo(string path) => Resources.Any(r => Matches(r, path));

    /// <summary>"off", or what start-up says about the section.</summary>
    public string Describe() => Enabled
        ? "cors for " + string.Join(", ", Origins.Select(o => o.Text)) + (SupportsCredentials ? " (with credentials)" : "")
        : "cors off";

    internal static CorsSettings Read(SettingsReader read)
    {
        var origins = List(read, "cors.origins");
        if (origins is null || origins.Count == 0) return Off;
        var settings = new CorsSettings
        {
            Origins = origins.Select(o => Pattern(read, "cors.origins", o)).ToList(),
            Methods = List(read, "cors.methods")?.Select(m => m.ToUpperInvariant()).ToList() is { Count: > 0 } methods ? methods : DefaultMethods,
            Headers = List(read, "cors.headers") is { Count: > 0 } headers && !headers.Contains("*")
                ? headers.Select(h => Pattern(read, "cors.headers", h)).ToList()
                : null,
            ExposeHeaders = List(read, "cors.expose_headers") ?? [],
            SupportsCredentials = Flag(read, "cors.supports_credentials", false),
            MaxAgeSeconds = Seconds(read, "cors.max_age"),
            SendWildcard = Flag(read, "cors.send_wildcard", false),
            AlwaysSend = Flag(read, "cors.always_send", true),
            AutomaticOptions = Flag(read, "cors.automatic_options", true),
            VaryHeader = Flag(read, "cors.vary_header", true),
        };
        return List(read, "cors.resources") is { Count: > 0 } resources
            ? settings with { Resources = resources.Select(r => Compile(read, "cors.resources", r, RegexOptions.None)).ToList() }
            : settings;
    }

    internal static bool Matches(Regex regex, string input)
    {
        try
        {
            return regex.IsMatch(input);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private static CorsPattern Pattern(SettingsReader read, string key, string text)
    {
        if (text == "*") return new CorsPattern(text, null);
        return text.IndexOfAny(RegexCharacters) >= 0
            ? new CorsPattern(text, Compile(read, key, text, RegexOptions.IgnoreCase))
            : new CorsPattern(text, null);
    }

    private static Regex Compile(SettingsReader read, string key, string pattern, RegexOptions options)
    {
        try
        {
            return Anchored(pattern, options);
        }
        catch (ArgumentException e)
        {
            throw read.Fail(key, $"\"{pattern}\" is not a valid regular expression: {e.Message}");
        }
    }

    // Flask-CORS uses Python's re.match: anchored at the start, not at the end.
    private static Regex Anchored(string pattern, RegexOptions options) =>
        new("^(?:" + pattern + ")", options | RegexOptions.CultureInvariant, MatchTimeout);

    // A YAML list, or one string that may list several values separated by commas; "" (an unset variable) is unset.
    private static List<string>? List(SettingsReader read, string key) => read.Get(key) switch
    {
        null => null,
        string s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(),
        IReadOnlyList<object?> items => items.Select(item => item switch
        {
            string s when s.Trim().Length > 0 => s.Trim(),
            long l => l.ToString(CultureInfo.InvariantCulture),
            var other => throw read.Fail(key, $"expected a list of strings, got an item {ConfigErrorContext.DescribeValue(other)}"),
        }).ToList(),
        var other => throw read.Fail(key, $"expected a string or a list of strings, got {ConfigErrorContext.DescribeValue(other)}"),
    };

    private static bool Flag(SettingsReader read, string key, bool fallback) => read.Get(key) switch
    {
        null => fallback,
        string s when s.Trim().Length == 0 => fallback,
        bool b => b,
        var other => throw read.Fail(key, $"expected a boolean (true/false), got {ConfigErrorContext.DescribeValue(other)}"),
    };

    private static long? Seconds(SettingsReader read, string key) => read.Get(key) switch
    {
        null => null,
        string s when s.Trim().Length == 0 => null,
        long l when l >= 0 => l,
        var other => throw read.Fail(key, $"expected a number of seconds (0 or more), got {ConfigErrorContext.DescribeValue(other)}"),
    };
}

/// <summary>An allowed origin or request header: <c>*</c>, a literal (compared case-insensitively) or a regular expression.</summary>
public sealed record CorsPattern(string Text, Regex? Regex)
{
    public bool IsWildcard => Text == "*";

    public bool Matches(string value) =>
        IsWildcard || (Regex is { } regex ? CorsSettings.Matches(regex, value) : string.Equals(Text, value, StringComparison.OrdinalIgnoreCase));
}
