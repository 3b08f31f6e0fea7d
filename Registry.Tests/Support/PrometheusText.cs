using System.Globalization;
using System.Text;

namespace Registry.Tests.Support;

/// <summary>
/// A parsed scrape in the Prometheus text exposition format (Prometheus documentation, 'Exposition formats', text
/// format 0.0.4): every sample by name and labels. Strict enough for the tests: a line it cannot read fails the parse.
/// </summary>
public sealed class PrometheusText
{
    private readonly Dictionary<string, double> _samples = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, double> Samples => _samples;

    /// <summary>The sample's value; 0 when absent (prometheus-net exports a labelled series only once it has been used).</summary>
    public double Value(string name, params (string Label, string Value)[] labels) =>
        _samples.GetValueOrDefault(Key(name, labels));

    public bool Has(string name, params (string Label, string Value)[] labels) => _samples.ContainsKey(Key(name, labels));

    public static async Task<PrometheusText> ScrapeAsync(HttpClient client, string path = "/metrics")
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {body}");
        return Parse(body);
    }

    public static PrometheusText Parse(string text)
    {
        var parsed = new PrometheusText();
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#') continue;
            var (name, labels, rest) = ReadSeries(line, lineNumber);
            var value = rest.Trim().Split(' ')[0];
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                && !TryParseSpecial(value, out number))
                throw new FormatException($"line {lineNumber}: bad value \"{value}\": {line}");
            parsed._samples[Key(name, labels)] = number;
        }
        return parsed;
    }

    private static (string Name, (string, string)[] Labels, string Tail) ReadSeries(string line, int lineNumber)
    {
        var brace = line.IndexOf('{');
        var space = line.IndexOf(' ');
        if (brace < 0 || space >= 0 && space < brace)
            return (line[..space], [], line[(space + 1)..]);
        var labels = new List<(string, string)>();
        var i = brace + 1;
        while (line[i] != '}')
        {
            var eq = line.IndexOf('=', i);
            var label = line[i..eq];
            if (line[eq + 1] != '"') throw new FormatException($"line {lineNumber}: label value not quoted: {line}");
            var value = new StringBuilder();
            for (i = eq + 2; line[i] != '"'; i++)
            {
                if (line[i] == '\\')
                {
                    i++;
                    value.Append(line[i] switch { 'n' => '\n', var c => c });
                }
                else value.Append(line[i]);
            }
            labels.Add((label, value.ToString()));
            i++;
            if (line[i] == ',') i++;
        }
        return (line[..brace], labels.ToArray(), line[(i + 1)..]);
    }

    private static bool TryParseSpecial(string value, out double number)
    {
        number = value switch { "+Inf" => double.PositiveInfinity, "-Inf" => double.NegativeInfinity, "NaN" => double.NaN, _ => 0 };
        return value is "+Inf" or "-Inf" or "NaN";
    }

    // Labels sorted by name: the key does not depend on the order the exporter writes them in.
    private static string Key(string name, (string Label, string Value)[] labels) =>
        name + "{" + string.Join(",", labels.OrderBy(l => l.Label, StringComparer.Ordinal).Select(l => $"{l.Label}=\"{l.Value}\"")) + "}";
}
