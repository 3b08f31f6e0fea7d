using System.Text.RegularExpressions;

namespace Registry.Tests.Support;

/// <summary>The table printed by <c>docker search</c>, split into cells by the header's column positions.</summary>
/// <remarks>
/// The CLI aligns columns with a tabwriter and cells may contain spaces, so splitting on whitespace
/// would be wrong; the header's words mark where each column starts.
/// </remarks>
public sealed partial class SearchTable
{
    private SearchTable(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyDictionary<string, string>> rows)
    {
        Columns = columns;
        Rows = rows;
    }

    public IReadOnlyList<string> Columns { get; }

    public IReadOnlyList<IReadOnlyDictionary<string, string>> Rows { get; }

    public IReadOnlyList<string> Column(string name) => Rows.Select(row => row[name]).ToList();

    public static SearchTable Parse(string stdout)
    {
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            throw new FormatException("docker search printed nothing, not even a header");
        }

        var header = HeaderWord().Matches(lines[0]).ToList();
        var columns = header.Select(m => m.Value).ToList();
        var rows = lines.Skip(1).Select(line =>
        {
            var cells = new Dictionary<string, string>();
            for (var i = 0; i < header.Count; i++)
            {
                var start = Math.Min(header[i].Index, line.Length);
                var end = i + 1 < header.Count ? Math.Min(header[i + 1].Index, line.Length) : line.Length;
                cells[columns[i]] = line[start..end].Trim();
            }

            return (IReadOnlyDictionary<string, string>)cells;
        }).ToList();
        return new SearchTable(columns, rows);
    }

    [GeneratedRegex(@"\S+")]
    private static partial Regex HeaderWord();
}
