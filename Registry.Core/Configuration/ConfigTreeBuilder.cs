using System.Collections.ObjectModel;

namespace Registry.Core.Configuration;

/// <summary>
/// Turns composed nodes into plain values (string, bool, long, double, null, read-only lists and maps):
/// applies <c>&lt;&lt;</c> merge keys the way PyYAML does and resolves <c>_env:VAR:default</c> (docs/configuration.md, '_env: values').
/// Resolution happens once, eagerly, so every error surfaces at start-up. Records which variable fed each
/// key path so that later validation errors can name it.
/// </summary>
internal sealed class ConfigTreeBuilder(IReadOnlyDictionary<string, string?> environment, ConfigErrorContext context)
{
    private const string EnvPrefix = "_env:";
    private const string MergeTag = "tag:yaml.org,2002:merge";

    // Aliases make a tree a graph; the budget bounds the work a "billion laughs" file could cause.
    private int budget = 1_000_000;

    private readonly Dictionary<string, EnvSource> sources = new(StringComparer.Ordinal);

    // Variables being resolved right now: FOO="{a: _env:FOO}" would otherwise recurse forever.
    private readonly HashSet<string> resolving = new(StringComparer.Ordinal);

    /// <summary>The variable behind each key path that came from an <c>_env:</c> value.</summary>
    public IReadOnlyDictionary<string, EnvSource> Sources => sources;

    /// <summary>The mapping's entries after merge keys, in document order, last duplicate winning.</summary>
    public OrderedDictionary<string, ConfigNode> Flatten(MappingNode mapping, string path)
    {
        var entries = new OrderedDictionary<string, ConfigNode>(StringComparer.Ordinal);
        foreach (var (key, value) in FlattenPairs(mapping, path))
        {
            entries[key] = value;
        }

        return entries;
    }

    /// <summary>A configuration section: its values (not list elements) get <c>_env:</c> resolution.</summary>
    public IReadOnlyDictionary<string, object?> BuildSection(MappingNode mapping, string path) => BuildMapping(mapping, path, interpolate: true);

    /// <summary>The source of <paramref name="path"/> or of the nearest enclosing key that came from a variable.</summary>
    public EnvSource? NearestSource(string path)
    {
        for (var p = path; p.Length > 0; p = ParentOf(p))
        {
            if (sources.TryGetValue(p, out var source))
            {
                return source;
            }
        }

        return null;
    }

    // PyYAML's flatten_mapping: merged entries first (within a list, earlier mappings win), then the
    // mapping's own entries, so that building with "last one wins" gives own > first merged > later merged.
    private List<KeyValuePair<string, ConfigNode>> FlattenPairs(MappingNode mapping, string path)
    {
        Spend(mapping.Pairs.Count, path);
        var merged = new List<KeyValuePair<string, ConfigNode>>();
        var own = new List<KeyValuePair<string, ConfigNode>>();
        foreach (var (keyNode, valueNode) in mapping.Pairs)
        {
            if (keyNode is ScalarNode { Value: "<<", IsPlainUntagged: true } or ScalarNode { Tag: MergeTag })
            {
                var mergePath = Join(path, "<<");
                switch (valueNode)
                {
                    case MappingNode single:
                        merged.AddRange(FlattenPairs(single, path));
                        break;
                    case SequenceNode list:
                        var parts = new List<List<KeyValuePair<string, ConfigNode>>>();
                        foreach (var item in list.Items)
                        {
                            parts.Add(item is MappingNode m
                                ? FlattenPairs(m, path)
                                : throw Fail(mergePath, item, "a merge key (<<) takes a mapping or a list of mappings, and this list holds something else"));
                        }

                        parts.Reverse();
                        parts.ForEach(merged.AddRange);
                        break;
                    default:
                        throw Fail(mergePath, valueNode, "a merge key (<<) takes a mapping (*alias) or a list of mappings ([*a, *b])");
                }
            }
            else
            {
                own.Add(new(KeyText(keyNode, path), valueNode));
            }
        }

        merged.AddRange(own);
        return merged;
    }

    private IReadOnlyDictionary<string, object?> BuildMapping(MappingNode mapping, string path, bool interpolate)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, valueNode) in Flatten(mapping, path))
        {
            result[key] = Build(valueNode, Join(path, key), interpolate);
        }

        return new ReadOnlyDictionary<string, object?>(result);
    }

    private object? Build(ConfigNode node, string path, bool interpolate)
    {
        Spend(1, path);
        switch (node)
        {
            case ScalarNode scalar:
                object? value;
                try
                {
                    value = Yaml11Scalars.Resolve(scalar);
                }
                catch (YamlValueException e)
                {
                    throw context.Fail(path, NearestSource(path), e.Message);
                }

                return interpolate && value is string s && s.StartsWith(EnvPrefix, StringComparison.Ordinal) ? ResolveEnv(s, path) : value;
            case SequenceNode sequence:
                // The original wraps only mappings in its interpolating Config class; list elements, and
                // everything inside them, stay as written.
                var items = new object?[sequence.Items.Count];
                for (var i = 0; i < items.Length; i++)
                {
                    items[i] = Build(sequence.Items[i], $"{path}[{i}]", interpolate: false);
                }

                return new ReadOnlyCollection<object?>(items);
            case MappingNode mapping:
                return BuildMapping(mapping, path, interpolate);
            default:
                throw new InvalidOperationException($"unknown node {node.GetType().Name}");
        }
    }

    // docs/configuration.md, '_env: values': split in at most three parts, a set-but-empty variable counts as set, the raw text is
    // parsed as a YAML document, and a resulting map is a section of its own.
    private object? ResolveEnv(string text, string path)
    {
        var parts = text.Split(':', 3);
        var variable = parts[1];
        var isSet = environment.TryGetValue(variable, out var envValue) && envValue is not null;
        var source = new EnvSource(variable, isSet ? envValue! : parts.Length == 3 ? parts[2] : "", isSet);
        sources[path] = source;
        if (!resolving.Add(variable))
        {
            throw context.Fail(path, source, $"${variable} refers back to itself through another _env: value");
        }

        try
        {
            ConfigNode? root;
            try
            {
                root = YamlComposer.ComposeSingleDocument(source.Raw);
            }
            catch (YamlSyntaxException e)
            {
                throw context.Fail(path, source, $"the value is not valid YAML ({e.Describe()})");
            }

            // A resulting string is not resolved again: the original only interpolates values read from a map.
            return root switch
            {
                null => null,
                MappingNode mapping => BuildMapping(mapping, path, interpolate: true),
                _ => Build(root, path, interpolate: false),
            };
        }
        finally
        {
            resolving.Remove(variable);
        }
    }

    private string KeyText(ConfigNode keyNode, string path) => keyNode is ScalarNode scalar
        ? scalar.Value
        : throw Fail(path.Length == 0 ? "(top level)" : path, keyNode, "mapping keys must be scalars");

    private ConfigException Fail(string path, ConfigNode node, string problem) =>
        context.Fail(path, NearestSource(path), $"{problem} (line {node.Start.Line}, column {node.Start.Column})");

    private void Spend(int amount, string path)
    {
        budget -= amount;
        if (budget < 0)
        {
            throw context.Fail(path, null, "the document expands to too many values (aliases nested too deeply?)");
        }
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static string ParentOf(string path)
    {
        var cut = path.LastIndexOfAny(['.', '[']);
        return cut < 0 ? "" : path[..cut];
    }
}
