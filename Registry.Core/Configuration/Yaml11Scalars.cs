using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace Registry.Core.Configuration;

/// <summary>
/// YAML 1.1 scalar resolution as PyYAML does it (the original reads its config with PyYAML), because
/// YamlDotNet follows YAML 1.2, where <c>yes</c>, <c>010</c> or <c>1:20</c> mean something else.
/// Values are string, bool, long, double or null. Timestamps stay strings: no setting is a date.
/// </summary>
internal static partial class Yaml11Scalars
{
    private const string TagPrefix = "tag:yaml.org,2002:";

    private static readonly HashSet<string> TrueWords = ["yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"];
    private static readonly HashSet<string> FalseWords = ["no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"];
    private static readonly HashSet<string> NullWords = ["", "~", "null", "Null", "NULL"];

    public static object? Resolve(ScalarNode scalar) => scalar.Tag switch
    {
        null when scalar.Style == ScalarStyle.Plain => ResolvePlain(scalar.Value),
        null or "!" or TagPrefix + "str" => scalar.Value,
        TagPrefix + "null" => null,
        TagPrefix + "bool" => TrueWords.Contains(scalar.Value) ? true
            : FalseWords.Contains(scalar.Value) ? false
            : throw new YamlValueException($"\"{scalar.Value}\" is not a boolean"),
        TagPrefix + "int" => IntPattern().IsMatch(scalar.Value)
            ? ParseInteger(scalar.Value)
            : throw new YamlValueException($"\"{scalar.Value}\" is not an integer"),
        TagPrefix + "float" => FloatPattern().IsMatch(scalar.Value) ? ParseFloat(scalar.Value)
            : IntPattern().IsMatch(scalar.Value) ? (double)ParseInteger(scalar.Value)
            : throw new YamlValueException($"\"{scalar.Value}\" is not a number"),
        var tag => throw new YamlValueException($"unsupported tag {tag}"),
    };

    /// <summary>The value of an untagged plain scalar.</summary>
    public static object? ResolvePlain(string text)
    {
        if (NullWords.Contains(text))
        {
            return null;
        }

        if (TrueWords.Contains(text))
        {
            return true;
        }

        if (FalseWords.Contains(text))
        {
            return false;
        }

        if (IntPattern().IsMatch(text))
        {
            return ParseInteger(text);
        }

        return FloatPattern().IsMatch(text) ? ParseFloat(text) : text;
    }

    /// <summary>True when the plain scalar <paramref name="text"/> would not read back as this same string.</summary>
    public static bool ResolvesToNonString(string text) =>
        NullWords.Contains(text) || TrueWords.Contains(text) || FalseWords.Contains(text)
        || IntPattern().IsMatch(text) || FloatPattern().IsMatch(text) || text == "<<";

    private static long ParseInteger(string text)
    {
        var digits = text.Replace("_", "", StringComparison.Ordinal);
        var negative = digits.StartsWith('-');
        if (digits.StartsWith('-') || digits.StartsWith('+'))
        {
            digits = digits[1..];
        }

        BigInteger value;
        if (digits.Contains(':'))
        {
            value = BigInteger.Zero;
            foreach (var part in digits.Split(':'))
            {
                value = (value * 60) + BigInteger.Parse(part, CultureInfo.InvariantCulture);
            }
        }
        else
        {
            var (radix, body) = digits switch
            {
                "0" => (10, "0"),
                _ when digits.StartsWith("0b", StringComparison.Ordinal) => (2, digits[2..]),
                _ when digits.StartsWith("0x", StringComparison.Ordinal) => (16, digits[2..]),
                _ when digits.StartsWith('0') => (8, digits[1..]),
                _ => (10, digits),
            };
            if (body.Length == 0)
            {
                throw new YamlValueException($"\"{text}\" is not a valid integer");
            }

            value = BigInteger.Zero;
            foreach (var c in body)
            {
                value = (value * radix) + Convert.ToInt32(c.ToString(), 16);
            }
        }

        if (negative)
        {
            value = -value;
        }

        return value >= long.MinValue && value <= long.MaxValue
            ? (long)value
            : throw new YamlValueException($"the integer {text} is out of range (a 64-bit integer is the largest supported)");
    }

    private static double ParseFloat(string text)
    {
        var digits = text.Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        var sign = digits.StartsWith('-') ? -1.0 : 1.0;
        if (digits.StartsWith('-') || digits.StartsWith('+'))
        {
            digits = digits[1..];
        }

        if (digits == ".inf")
        {
            return sign * double.PositiveInfinity;
        }

        if (digits == ".nan")
        {
            return double.NaN;
        }

        if (digits.Contains(':'))
        {
            var value = 0.0;
            foreach (var part in digits.Split(':'))
            {
                value = (value * 60) + double.Parse(part, NumberStyles.Float, CultureInfo.InvariantCulture);
            }

            return sign * value;
        }

        return sign * double.Parse(digits, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    // PyYAML's resolver patterns (resolver.py), anchored with \z so a trailing newline cannot sneak through.
    [GeneratedRegex(@"\A(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\z", RegexOptions.CultureInvariant)]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"\A(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\z", RegexOptions.CultureInvariant)]
    private static partial Regex FloatPattern();
}
