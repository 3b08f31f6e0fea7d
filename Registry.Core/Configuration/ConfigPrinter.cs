using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Registry.Core.Configuration;

/// <summary>
/// Renders resolved settings as YAML-like text for the <c>config</c> verb: the source file, the flavor, then
/// every key (sorted, nested maps indented by four spaces) with secret values shown as <c>***</c>.
/// </summary>
public static class ConfigPrinter
{
    /// <summary>What a secret value is replaced with.</summary>
    public const string Mask = "***";

    private static readonly string[] SecretWords =
        ["password", "secret", "keysecret", "accesskey", "access_key", "secret_key", "license", "token", "bugsnag",
         // Request headers of notification endpoints (notifications.endpoints[].headers) carry credentials.
         "authorization", "api-key", "apikey"];

    private static readonly JsonSerializerOptions QuoteOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The text the <c>config</c> verb prints; lines end with <c>\n</c>.</summary>
    public static string Render(RegistrySettings settings)
    {
        var text = new StringBuilder();
        text.Append("# file: ").Append(settings.SourceFile).Append('\n');
        text.Append("# flavor: ").Append(settings.Flavor.Length == 0 ? "\"\" (the whole document)" : settings.Flavor).Append('\n');
        WriteMap(text, settings.Values, 0);
        return text.ToString();
    }

    /// <summary>
    /// True when a key's value must not be printed: its name mentions a password, secret, access key, licence
    /// or token, names the Bugsnag API key, or ends in <c>_key</c> (except <c>privileged_key</c>, a file path).
    /// </summary>
    public static bool IsSecretKey(string key)
    {
        var k = key.ToLowerInvariant();
        return SecretWords.Any(word => k.Contains(word, StringComparison.Ordinal))
            || (k.EndsWith("_key", StringComparison.Ordinal) && k != "privileged_key");
    }

    private static void WriteMap(StringBuilder text, IReadOnlyDictionary<string, object?> map, int indent)
    {
        foreach (var key in map.Keys.Order(StringComparer.Ordinal))
        {
            var value = map[key];
            text.Append(' ', indent).Append(FormatKey(key)).Append(':');
            if (value is IReadOnlyDictionary<string, object?> { Count: > 0 } nested && !IsMasked(key, value))
            {
                text.Append('\n');
                WriteMap(text, nested, indent + 4);
            }
            else
            {
                text.Append(' ').Append(FormatEntry(key, value)).Append('\n');
            }
        }
    }

    // Null stays visible (it reveals nothing and tells the operator the secret is unset), and so do booleans:
    // "disable_token_auth: true" is a switch, not a token.
    private static bool IsMasked(string key, object? value) => value is not (null or bool) && IsSecretKey(key);

    private static string FormatEntry(string key, object? value) => IsMasked(key, value) ? Mask : FormatFlow(value);

    private static string FormatFlow(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d when double.IsNaN(d) => ".nan",
        double d when double.IsInfinity(d) => d > 0 ? ".inf" : "-.inf",
        double d => FormatDouble(d),
        string s => FormatString(MaskUrlPassword(s)),
        IReadOnlyDictionary<string, object?> map =>
            "{" + string.Join(", ", map.Keys.Order(StringComparer.Ordinal).Select(k => $"{FormatKey(k)}: {FormatEntry(k, map[k])}")) + "}",
        IReadOnlyList<object?> list => "[" + string.Join(", ", list.Select(FormatFlow)) + "]",
        _ => FormatString(value.ToString() ?? ""),
    };

    // A URL's password (mirroring.source: http://user:password@host) is a secret whatever the key is called.
    private static string MaskUrlPassword(string s)
    {
        if (!s.Contains('@', StringComparison.Ordinal) || !Uri.TryCreate(s, UriKind.Absolute, out var uri)) return s;
        var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0) return s;
        var at = s.IndexOf(uri.UserInfo + "@", StringComparison.Ordinal);
        return at < 0 ? s : s[..(at + colon + 1)] + Mask + s[(at + uri.UserInfo.Length)..];
    }

    // Always with a '.', so the printed number reads back as a float rather than an integer.
    private static string FormatDouble(double d)
    {
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text : text + ".0";
    }

    private static string FormatKey(string key) => IsPlainSafe(key) ? key : Quote(key);

    // Plain when it reads back as the same string in YAML 1.1, double-quoted (JSON escapes are valid YAML) otherwise.
    private static string FormatString(string s) => IsPlainSafe(s) ? s : Quote(s);

    private static bool IsPlainSafe(string s) =>
        s.Length > 0
        && !Yaml11Scalars.ResolvesToNonString(s)
        && !char.IsWhiteSpace(s[0]) && !char.IsWhiteSpace(s[^1])
        && "-?:,[]{}#&*!|>'\"%@`".IndexOf(s[0], StringComparison.Ordinal) < 0
        && s.IndexOfAny([',', '[', ']', '{', '}', '\n', '\r', '\t']) < 0
        && !s.Contains(": ", StringComparison.Ordinal) && !s.EndsWith(':') && !s.Contains(" #", StringComparison.Ordinal)
        && !s.Any(char.IsControl);

    private static string Quote(string s) => JsonSerializer.Serialize(s, QuoteOptions);
}
