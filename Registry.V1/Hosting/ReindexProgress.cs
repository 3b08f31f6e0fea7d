using System.Diagnostics;
using Registry.Index.Search;
using static System.FormattableString;

namespace Registry.V1.Hosting;

/// <summary>
/// The progress of <c>reindex</c> on stderr. On a terminal one line updates in place (repositories scanned and
/// the rate, then the rows written) at most a few times a second; anywhere else (a log file, a pipe) a plain
/// line per phase, so that a log is not flooded: "scanning …", "scanned N repositories in T s; writing …",
/// "wrote N rows in T s".
/// </summary>
public sealed class ReindexProgress(TextWriter output, bool terminal, string source, string destination) : IProgress<RebuildProgress>
{
    private static readonly TimeSpan RedrawEvery = TimeSpan.FromMilliseconds(200);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan? _lastDraw;
    private TimeSpan _scanTime;
    private RebuildPhase? _phase;

    /// <summary>For <c>reindex</c> itself: stderr, and whether it is a terminal.</summary>
    public static ReindexProgress ForConsole(string source, string destination) =>
        new(Console.Error, !Console.IsErrorRedirected, source, destination);

    public void Report(RebuildProgress value)
    {
        var started = _phase != value.Phase;
        _phase = value.Phase;
        switch (value.Phase)
        {
            case RebuildPhase.Scanning when started && !terminal:
                output.WriteLine(Invariant($"scanning {source}"));
                break;
            case RebuildPhase.Scanning when terminal && (_lastDraw is null || _clock.Elapsed - _lastDraw >= RedrawEvery):
                _lastDraw = _clock.Elapsed;
                Draw(Invariant($"scanning {source}: {value.Scanned:N0} repositories ({Rate(value.Scanned, _clock.Elapsed)}/s)"));
                break;
            case RebuildPhase.Writing:
                _scanTime = _clock.Elapsed;
                var scanned = Invariant($"scanned {value.Scanned:N0} repositories in {_scanTime.TotalSeconds:0.0} s; writing them into {destination}");
                if (terminal) Draw(scanned);
                else output.WriteLine(scanned);
                break;
            case RebuildPhase.Done:
                var writing = _clock.Elapsed - _scanTime;
                var wrote = Invariant($"wrote {value.Written:N0} rows in {writing.TotalSeconds:0.0} s ({Rate(value.Written, writing)} rows/s)");
                if (terminal) Draw(wrote);
                output.WriteLine(terminal ? "" : wrote);
                break;
        }
    }

    /// <summary>Overwrites the current line: carriage return, the text, and "erase to end of line" (ANSI EL).</summary>
    private void Draw(string line)
    {
        output.Write("\r" + line + "\u001b[K");
        output.Flush();
    }

    private static string Rate(long count, TimeSpan elapsed) => ConsoleProgress.Rate(count, elapsed);
}
