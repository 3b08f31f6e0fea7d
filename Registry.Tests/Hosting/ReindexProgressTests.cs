using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Search;
using Registry.V1.Hosting;

namespace Registry.Tests.Hosting;

public class ReindexProgressTests
{
    [Test]
    public void On_a_terminal_one_line_is_redrawn_in_place_and_ended_once()
    {
        var output = new StringWriter();
        var progress = new ReindexProgress(output, terminal: true, "file storage /s", "postgresql://h:5432/db");

        progress.Report(new RebuildProgress(RebuildPhase.Scanning, 1, 0));
        progress.Report(new RebuildProgress(RebuildPhase.Writing, 2, 0));
        progress.Report(new RebuildProgress(RebuildPhase.Done, 2, 2));

        var text = output.ToString();
        text.Should().MatchRegex(@"^\rscanning file storage /s: 1 repositories \([\d,-]+/s\)\u001b\[K" +
                                 @"\rscanned 2 repositories in \d+\.\d s; writing them into postgresql://h:5432/db\u001b\[K" +
                                 @"\rwrote 2 rows in \d+\.\d s \([\d,-]+ rows/s\)\u001b\[K" + Environment.NewLine + "$");
    }

    [Test]
    public void Elsewhere_each_phase_is_one_plain_line_however_many_repositories()
    {
        var output = new StringWriter();
        var progress = new ReindexProgress(output, terminal: false, "file storage /s", "index.db");

        for (var i = 1; i <= 5000; i++) progress.Report(new RebuildProgress(RebuildPhase.Scanning, i, 0));
        progress.Report(new RebuildProgress(RebuildPhase.Writing, 5000, 0));
        progress.Report(new RebuildProgress(RebuildPhase.Done, 5000, 5000));

        output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Should().SatisfyRespectively(
            line => line.Should().Be("scanning file storage /s"),
            line => line.Should().MatchRegex(@"^scanned 5,000 repositories in \d+\.\d s; writing them into index\.db$"),
            line => line.Should().MatchRegex(@"^wrote 5,000 rows in \d+\.\d s \([\d,]+ rows/s\)$"));
    }
}
