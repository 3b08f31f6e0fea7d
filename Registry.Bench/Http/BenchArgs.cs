using System.Globalization;

namespace Registry.Bench.Http;

/// <summary>
/// "--name value" options and "--flag" switches of one subcommand. Unknown names are rejected up
/// front so that a typo never silently runs a benchmark with default settings.
/// </summary>
internal sealed class BenchArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private BenchArgs()
    {
    }

    public static BenchArgs Parse(string[] args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> flagOptions)
    {
        var parsed = new BenchArgs();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (flagOptions.Contains(name))
            {
                parsed._flags.Add(name);
            }
            else if (valueOptions.Contains(name))
            {
                if (i + 1 >= args.Length)
                {
                    throw new BenchUsageException($"option {name} needs a value");
                }

                parsed._values[name] = args[++i];
            }
            else
            {
                throw new BenchUsageException(
                    $"unknown option '{name}'; known: {string.Join(", ", valueOptions.Concat(flagOptions))}");
            }
        }

        return parsed;
    }

    public bool Has(string flag) => _flags.Contains(flag);

    public string? GetString(string name) => _values.GetValueOrDefault(name);

    public int GetInt(string name, int defaultValue, int min, int max)
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new BenchUsageException($"option {name} must be an integer in [{min}, {max}], got '{text}'");
        }

        return value;
    }

    public double GetDouble(string name, double defaultValue, double min, double max)
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return defaultValue;
        }

        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new BenchUsageException($"option {name} must be a number in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}], got '{text}'");
        }

        return value;
    }
}

/// <summary>A command line the benchmark cannot run with; reported without a stack trace.</summary>
internal sealed class BenchUsageException(string message) : Exception(message);

/// <summary>
/// A server under test answered a protocol step in a way that makes the measurement meaningless
/// (wrong status, wrong byte count); the message names the request and what came back.
/// </summary>
internal sealed class ServerNotFunctionalException(string message) : Exception(message);
