using System.Globalization;
using Registry.Core.Maintenance;
using static System.FormattableString;

namespace Registry.V1.Hosting;

/// <summary>
/// The progress of a long verb (<c>gc</c>, <c>copy-index</c>) on stderr. On a terminal one line updates in place at most
/// five times a second: the phase, the count (of the total when known), the rate and, with a total, the ETA. Anywhere
/// else (a log file, a pipe) nothing until <see cref="Finish"/>, which writes one summary line, so that a log is not
/// flooded. Phases reported as not <see cref="WorkProgress.Counted"/> (a collection's scan) are drawn but left out of
/// the summary's count.
/// </summary>
/// <param name="name">The verb, first on the summary line.</param>
/// <param name="unit">What the counts count, plural ("items", "rows").</param>
public sealed class ConsoleProgress(TextWriter output, bool terminal, string name, string unit, TimeProvider? time = null) : IProgress<WorkProgress>
{
    private static readonly TimeSpan RedrawEvery = TimeSpan.FromMilliseconds(200);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly long _started = (time ?? TimeProvider.System).GetTimestamp();
    private string? _phase;
    private bool _phaseCounted;
    private long _phaseStarted;
    private long _doneInPhase;
    private long _doneBefore;
    private long? _lastDraw;
    private bool _drawn;

    /// <summary>For a verb: stderr, and whether it is a terminal.</summary>
    public static ConsoleProgress ForConsole(string name, string unit) => new(Console.Error, !Console.IsErrorRedirected, name, unit);

    public void Report(WorkProgress value)
    {
        var now = _time.GetTimestamp();
        if (value.Phase != _phase)
        {
            if (_phaseCounted) _doneBefore += _doneInPhase;
            _phase = value.Phase;
            _phaseCounted = value.Counted;
            _phaseStarted = now;
            _lastDraw = null;
        }
        _doneInPhase = value.Done;
        var last = value.Total is { } t && value.Done >= t;
        if (!terminal || (!last && _lastDraw is { } drawn && _time.GetElapsedTime(drawn, now) < RedrawEvery)) return;
        _lastDraw = now;
        Draw(Line(value, _time.GetElapsedTime(_phaseStarted, now)));
    }

    /// <summary>Ends the progress line (on a terminal) and writes the summary: everything counted, the time and the rate.</summary>
    public void Finish()
    {
        var elapsed = _time.GetElapsedTime(_started);
        var done = _doneBefore + (_phaseCounted ? _doneInPhase : 0);
        if (_drawn) output.Write("\r\u001b[K");
        output.WriteLine(Invariant($"{name}: {done:N0} {unit} in {elapsed.TotalSeconds:0.0} s ({Rate(done, elapsed)}/s)"));
        output.Flush();
    }

    private string Line(WorkProgress value, TimeSpan elapsed)
    {
        var count = value.Total is { } total ? Invariant($"{value.Done:N0}/{total:N0}") : Invariant($"{value.Done:N0}");
        var line = Invariant($"{name}: {value.Phase} {count} {unit} ({Rate(value.Done, elapsed)}/s");
        if (value.Total is { } all && value.Done > 0 && value.Done < all && elapsed > TimeSpan.Zero)
            line += ", ETA " + Eta(TimeSpan.FromSeconds(elapsed.TotalSeconds * (all - value.Done) / value.Done));
        return line + ")";
    }

    /// <summary>Overwrites the current line: carriage return, the text, and "erase to end of line" (ANSI EL).</summary>
    private void Draw(string line)
    {
        output.Write("\r" + line + "\u001b[K");
        output.Flush();
        _drawn = true;
    }

    internal static string Rate(long count, TimeSpan elapsed) =>
        elapsed.TotalSeconds > 0 ? (count / elapsed.TotalSeconds).ToString("N0", CultureInfo.InvariantCulture) : "-";

    private static string Eta(TimeSpan left) =>
        left.TotalHours >= 1 ? Invariant($"{(int)left.TotalHours}h{left.Minutes:00}m")
        : left.TotalMinutes >= 1 ? Invariant($"{(int)left.TotalMinutes}m{left.Seconds:00}s")
        : Invariant($"{Math.Ceiling(left.TotalSeconds):0}s");
}
