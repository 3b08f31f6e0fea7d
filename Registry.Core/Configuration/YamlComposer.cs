using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Registry.Core.Configuration;

/// <summary>Turns YAML text into one <see cref="ConfigNode"/> tree, sharing nodes for aliases.</summary>
internal static partial class YamlComposer
{
    // Configuration files are shallow; the limit only keeps a hostile value from exhausting the stack.
    private const int MaxDepth = 64;

    /// <summary>The single document of <paramref name="text"/>, or null when there is none (empty text, comments only).</summary>
    public static ConfigNode? ComposeSingleDocument(string text)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, ConfigNode>(StringComparer.Ordinal);
        try
        {
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _))
            {
                return null;
            }

            parser.Consume<DocumentStart>();
            var root = ComposeNode(parser, anchors, 0);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
            {
                throw new YamlSyntaxException(second.Start.Line, second.Start.Column, "expected a single document, found a second one");
            }

            parser.Consume<StreamEnd>();
            return root;
        }
        catch (YamlException e)
        {
            throw new YamlSyntaxException(e.Start.Line, e.Start.Column, StripPosition(e.Message));
        }
    }

    private static ConfigNode ComposeNode(IParser parser, Dictionary<string, ConfigNode> anchors, int depth)
    {
        var ev = parser.Consume<ParsingEvent>();
        if (depth > MaxDepth)
        {
            throw new YamlSyntaxException(ev.Start.Line, ev.Start.Column, $"nested deeper than {MaxDepth} levels");
        }

        ConfigNode node;
        AnchorName anchor;
        switch (ev)
        {
            case AnchorAlias alias:
                return anchors.TryGetValue(alias.Value.Value, out var target)
                    ? target
                    : throw new YamlSyntaxException(alias.Start.Line, alias.Start.Column, $"unknown alias *{alias.Value.Value}");
            case Scalar scalar:
                node = new ScalarNode(scalar.Value, scalar.Style, TagOf(scalar.Tag), scalar.Start);
                anchor = scalar.Anchor;
                break;
            case SequenceStart start:
                var items = new List<ConfigNode>();
                while (!parser.TryConsume<SequenceEnd>(out _))
                {
                    items.Add(ComposeNode(parser, anchors, depth + 1));
                }

                node = new SequenceNode(items, start.Start);
                anchor = start.Anchor;
                break;
            case MappingStart start:
                var pairs = new List<KeyValuePair<ConfigNode, ConfigNode>>();
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var key = ComposeNode(parser, anchors, depth + 1);
                    var value = ComposeNode(parser, anchors, depth + 1);
                    pairs.Add(new(key, value));
                }

                node = new MappingNode(pairs, start.Start);
                anchor = start.Anchor;
                break;
            default:
                throw new YamlSyntaxException(ev.Start.Line, ev.Start.Column, $"unexpected {ev.GetType().Name}");
        }

        // Registered only once complete, so a node cannot contain an alias to itself; a later anchor of the
        // same name replaces the earlier one, as YAML allows.
        if (!anchor.IsEmpty)
        {
            anchors[anchor.Value] = node;
        }

        return node;
    }

    // "!" is the non-specific tag: the scalar is a string, which is what a quoted, untagged scalar gives too.
    private static string? TagOf(TagName tag) => tag.IsEmpty ? null : tag.Value;

    // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: ...): "; we report the position ourselves.
    private static string StripPosition(string message) => PositionPrefix().Replace(message, "").TrimEnd('.');

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex PositionPrefix();
}
