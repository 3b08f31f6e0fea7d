using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Maintenance;
using Registry.V1.Hosting;

namespace Registry.Tests.Hosting;

public class ConsoleProgressTests
{
    /// <summary>A clock the test moves by hand: rates and ETAs become exact.</summary>
    private sealed class ManualClock : TimeProvider
    {
        public long Ticks { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;

        public void Advance(TimeSpan by) => Ticks += by.Ticks;
    }

    [Test]
    public void On_a_terminal_the_line_shows_count_rate_and_eta_and_is_redrawn_at_most_five_times_a_second()
    {
        var clock = new ManualClock();
        var output = new StringWriter();
        var progress = new ConsoleProgress(output, terminal: true, "gc", "items", clock);

        clock.Advance(TimeSpan.FromSeconds(2));
        progress.Report(new WorkProgress("deleting blobs", 100, 400));
        clock.Advance(TimeSpan.FromMilliseconds(100));
        progress.Report(new WorkProgress("deleting blobs", 150, 400)); // too soon: not drawn
        clock.Advance(TimeSpan.FromSeconds(2));
        progress.Report(new WorkProgress("deleting blobs", 300, 400));
        progress.Report(new WorkProgress("deleting blobs", 400, 400)); // the last one always is
        progress.Report(new WorkProgress("deleting uploads", 2, null));
        clock.Advance(TimeSpan.FromSeconds(1));
        progress.Finish();

        output.ToString().Should().Be(
            "\rgc: deleting blobs 100/400 items (-/s)\u001b[K"
            + "\rgc: deleting blobs 300/400 items (143/s, ETA 1s)\u001b[K"
            + "\rgc: deleting blobs 400/400 items (190/s)\u001b[K"
            + "\rgc: deleting uploads 2 items (-/s)\u001b[K"
            + "\r\u001b[K" + "gc: 402 items in 5.1 s (79/s)" + Environment.NewLine);
    }

    [Test]
    public void A_scan_phase_is_drawn_but_not_counted_in_the_summary()
    {
        var clock = new ManualClock();
        var output = new StringWriter();
        var progress = new ConsoleProgress(output, terminal: true, "gc", "items", clock);

        clock.Advance(TimeSpan.FromSeconds(1));
        progress.Report(new WorkProgress("scanning V1 repositories", 50, null, Counted: false));
        clock.Advance(TimeSpan.FromSeconds(1));
        progress.Report(new WorkProgress("marking V1 repositories", 50, 50, Counted: false));
        progress.Report(new WorkProgress("deleting images", 3, 3));
        progress.Report(new WorkProgress("checking v2 blobs", 7, null, Counted: false));
        progress.Finish();

        output.ToString().Should().Be(
            "\rgc: scanning V1 repositories 50 items (-/s)\u001b[K"
            + "\rgc: marking V1 repositories 50/50 items (-/s)\u001b[K"
            + "\rgc: deleting images 3/3 items (-/s)\u001b[K"
            + "\rgc: checking v2 blobs 7 items (-/s)\u001b[K"
            + "\r\u001b[K" + "gc: 3 items in 2.0 s (2/s)" + Environment.NewLine);
    }

    [Test]
    public void Elsewhere_only_the_summary_line_is_written()
    {
        var clock = new ManualClock();
        var output = new StringWriter();
        var progress = new ConsoleProgress(output, terminal: false, "copy-index", "rows", clock);

        for (var i = 1; i <= 1000; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            progress.Report(new WorkProgress("copying image memberships", i, 1000));
        }
        progress.Report(new WorkProgress("copying search repositories", 500, 500));
        progress.Finish();

        output.ToString().Should().Be("copy-index: 1,500 rows in 1.0 s (1,500/s)" + Environment.NewLine);
    }
}
