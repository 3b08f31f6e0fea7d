using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>The private dockerd harness: confined to its temp folder, reachable by the CLI, stopped with its containerd.</summary>
[TestFixture]
[Category("docker")]
public sealed class DockerDaemonTests
{
    [Test]
    public async Task Runs_confined_to_its_folder_and_stops_with_its_containerd()
    {
        var daemon = await DockerDaemon.StartAsync();
        int[] containerdPids;
        try
        {
            var info = await daemon.RunCliAsync("info", "--format", "{{.Driver}}|{{.DockerRootDir}}|{{.Images}}");
            info.Should().Be(new CliResult(0, $"vfs|{Path.Combine(daemon.Directory, "data")}|0\n", ""));
            (await File.ReadAllTextAsync(daemon.PidFile)).Trim().Should().Be(daemon.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            containerdPids = Posix.ChildrenOf(daemon.Pid).Select(child => child.Pid).ToArray();
            containerdPids.Should().ContainSingle();
            Directory.Exists(daemon.CliConfigDirectory).Should().BeTrue();
        }
        finally
        {
            await daemon.DisposeAsync();
        }

        Posix.ReadProcStat(daemon.Pid).Should().BeNull();
        Posix.ReadProcStat(containerdPids[0]).Should().BeNull();
        Directory.Exists(daemon.Directory).Should().BeFalse();
        TestContext.Out.WriteLine($"start {daemon.StartupTime.TotalMilliseconds:F0} ms, stop {daemon.StopTime?.TotalMilliseconds:F0} ms");
    }
}
