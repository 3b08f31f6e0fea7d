namespace Registry.Core.Configuration;

/// <summary>Where a value came from when an environment variable was involved.</summary>
/// <param name="Variable">The variable name, without <c>$</c>.</param>
/// <param name="Raw">The text that was used: the variable's value, or the default when it is unset.</param>
/// <param name="FromEnvironment">True when the variable was set (even to ""), false when the default was used.</param>
internal sealed record EnvSource(string Variable, string Raw, bool FromEnvironment)
{
    public string Describe() => FromEnvironment
        ? $"from ${Variable}={ConfigErrorContext.Quote(Raw)}"
        : $"from ${Variable}, unset, default {ConfigErrorContext.Quote(Raw)}";
}

/// <summary>Builds the one-line start-up errors that name file, flavor, key and variable.</summary>
internal sealed record ConfigErrorContext(string File, string Flavor)
{
    public ConfigException Fail(string? key, EnvSource? source, string problem) => new(Line("config error", key, source, problem));

    /// <summary>One line: <paramref name="kind"/> ("config error", "config warning") in file, flavor, key (variable): problem.</summary>
    public string Line(string kind, string? key, EnvSource? source, string problem)
    {
        var flavor = Flavor.Length == 0 ? "flavor \"\" (the whole document)" : $"flavor {Quote(Flavor)}";
        var where = key is null ? "" : $", key {Quote(key)}";
        var from = source is null ? "" : $" ({source.Describe()})";
        return $"{kind} in {File}, {flavor}{where}{from}: {problem}";
    }

    /// <summary>Double-quoted with backslash escapes, so a value with quotes or newlines stays on one line.</summary>
    public static string Quote(string text)
    {
        var escaped = text
            .Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\r", "\\r", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal)
            .Replace("\t", "\\t", StringComparison.Ordinal);
        return $"\"{escaped}\"";
    }

    /// <summary>How a resolved value reads in an error message, e.g. <c>the string "maybe"</c>.</summary>
    public static string DescribeValue(object? value) => value switch
    {
        null => "null",
        string s => $"the string {Quote(s)}",
        bool b => b ? "the boolean true" : "the boolean false",
        long l => $"the integer {l}",
        double d => $"the number {d.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}",
        IReadOnlyDictionary<string, object?> => "a map",
        IReadOnlyList<object?> => "a list",
        _ => value.GetType().Name,
    };
}
