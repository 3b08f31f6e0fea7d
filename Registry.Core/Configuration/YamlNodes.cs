using YamlDotNet.Core;

namespace Registry.Core.Configuration;

/// <summary>
/// A composed YAML node. Our own tiny tree instead of YamlDotNet's RepresentationModel because we need
/// things it does not give: YAML 1.1 merge keys, duplicate keys (last wins, like PyYAML), redefinable
/// anchors and the raw scalar style for YAML 1.1 type resolution.
/// </summary>
internal abstract class ConfigNode(Mark start)
{
    public Mark Start { get; } = start;
}

/// <summary>A scalar as written: its text, its style (plain scalars get YAML 1.1 resolution) and its tag.</summary>
internal sealed class ScalarNode(string value, ScalarStyle style, string? tag, Mark start) : ConfigNode(start)
{
    public string Value { get; } = value;

    public ScalarStyle Style { get; } = style;

    /// <summary>The explicit tag, e.g. <c>tag:yaml.org,2002:str</c>; null when untagged.</summary>
    public string? Tag { get; } = tag;

    public bool IsPlainUntagged => Tag is null && Style == ScalarStyle.Plain;
}

internal sealed class SequenceNode(IReadOnlyList<ConfigNode> items, Mark start) : ConfigNode(start)
{
    public IReadOnlyList<ConfigNode> Items { get; } = items;
}

/// <summary>A mapping in document order, merge keys (<c>&lt;&lt;</c>) still unresolved.</summary>
internal sealed class MappingNode(IReadOnlyList<KeyValuePair<ConfigNode, ConfigNode>> pairs, Mark start) : ConfigNode(start)
{
    public IReadOnlyList<KeyValuePair<ConfigNode, ConfigNode>> Pairs { get; } = pairs;
}

/// <summary>Malformed YAML, with the position of the problem (1-based).</summary>
internal sealed class YamlSyntaxException(long line, long column, string problem) : Exception(problem)
{
    public long Line { get; } = line;

    public long Column { get; } = column;

    public string Describe() => $"line {Line}, column {Column}: {Message}";
}

/// <summary>A scalar whose text cannot become a value of its (implicit or explicit) type.</summary>
internal sealed class YamlValueException(string problem) : Exception(problem);
