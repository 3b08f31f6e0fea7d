namespace Registry.Core.Configuration;

/// <summary>Typed, validated reads of resolved values; every failure names key, flavor, file and variable.</summary>
internal sealed class SettingsReader(
    IReadOnlyDictionary<string, object?> values,
    Func<string, EnvSource?> sourceOf,
    ConfigErrorContext context)
{
    public ConfigErrorContext Context => context;

    /// <summary>The value at a dotted path (<c>mirroring.source</c>); null when any part is missing.</summary>
    public object? Get(string path)
    {
        var dot = path.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0)
        {
            return values.GetValueOrDefault(path);
        }

        var section = path[..dot];
        return values.GetValueOrDefault(section) switch
        {
            null => null,
            IReadOnlyDictionary<string, object?> map => map.GetValueOrDefault(path[(dot + 1)..]),
            var other => throw Fail(section, $"expected a map of settings, got {ConfigErrorContext.DescribeValue(other)}"),
        };
    }

    /// <summary>The <c>_env:</c> variable the value at <paramref name="path"/> (or the nearest enclosing map) came from.</summary>
    public EnvSource? SourceOf(string path) => sourceOf(path);

    /// <summary>A YAML boolean or null; anything else (also "truthy" strings and numbers) is an error.</summary>
    public bool? Boolean(string path) => Get(path) switch
    {
        null => null,
        bool b => b,
        var other => throw Fail(path, $"expected a boolean (true/false), got {ConfigErrorContext.DescribeValue(other)}"),
    };

    public string? Text(string path) => Get(path) switch
    {
        null => null,
        string s => s,
        var other => throw Fail(path, $"expected a string, got {ConfigErrorContext.DescribeValue(other)} (quote the value to keep it a string)"),
    };

    /// <summary>One of <paramref name="allowed"/>, compared case-insensitively and returned in lower case.</summary>
    public string? Choice(string path, IReadOnlyList<string> allowed)
    {
        var value = Get(path);
        if (value is null)
        {
            return null;
        }

        var match = value is string s ? allowed.FirstOrDefault(a => string.Equals(a, s, StringComparison.OrdinalIgnoreCase)) : null;
        return match ?? throw Fail(path, $"expected one of {string.Join(", ", allowed)}; got {ConfigErrorContext.DescribeValue(value)}");
    }

    public long Integer(string path, long fallback, long min, long max)
    {
        var value = Get(path);
        return value switch
        {
            null => fallback,
            long l when l >= min && l <= max => l,
            _ => throw Fail(path, $"expected an integer from {min} to {max}, got {ConfigErrorContext.DescribeValue(value)}"),
        };
    }

    /// <summary>The error for <paramref name="path"/>, naming the variable its value came from.</summary>
    public ConfigException Fail(string path, string problem) => context.Fail(path, sourceOf(path), problem);

    /// <summary>The error for <paramref name="path"/>, naming the variable but not its value (a URL may carry a password).</summary>
    public ConfigException FailHidingValue(string path, string problem) =>
        context.Fail(path, sourceOf(path) is { } source ? source with { Raw = ConfigPrinter.Mask } : null, problem);
}
