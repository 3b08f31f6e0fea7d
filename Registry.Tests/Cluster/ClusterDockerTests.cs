using System.Text.RegularExpressions;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Cluster;

/// <summary>
/// A real docker engine against a two-instance cluster (shared Ceph RGW, PostgreSQL and Redis): it pushes to one
/// instance and pulls the same digest from the other, and <c>docker search</c> on the other finds the repository.
/// </summary>
[TestFixture]
[Category("docker")]
[Category("s3")]
public sealed partial class ClusterDockerTests
{
    [Test]
    public async Task Cluster_docker_pushes_to_one_instance_and_pulls_from_the_other()
    {
        await using var docker = await DockerDaemon.StartAsync();
        await using var cluster = await RegistryCluster.StartAsync(2, redis: true);
        var (a, b) = (cluster[0], cluster[1]);
        var tar = Path.Combine(docker.Directory, "rootfs.tar");
        await File.WriteAllBytesAsync(tar, TarBuilder.Tar(("hello", "Hello from the cluster test\n"), ("etc/motd", "pushed to A, pulled from B\n")));

        await DockerOk(docker, "import", tar, $"{a.HostAndPort}/team/cluster-hello:1.0");
        var push = await DockerOk(docker, "push", $"{a.HostAndPort}/team/cluster-hello:1.0");
        var digest = DigestLine().Match(push.Stdout).Groups["digest"].Value;
        digest.Should().StartWith("sha256:", push.ToString());
        var imageId = (await DockerOk(docker, "image", "inspect", "--format", "{{.Id}}", $"{a.HostAndPort}/team/cluster-hello:1.0")).Stdout.Trim();
        await DockerOk(docker, "rmi", $"{a.HostAndPort}/team/cluster-hello:1.0");

        var pull = await DockerOk(docker, "pull", $"{b.HostAndPort}/team/cluster-hello:1.0");
        pull.Stdout.Should().Contain($"Digest: {digest}");
        (await DockerOk(docker, "image", "inspect", "--format", "{{.Id}}", $"{b.HostAndPort}/team/cluster-hello:1.0")).Stdout.Trim().Should().Be(imageId);
        var search = await DockerOk(docker, "search", "--format", "{{.Name}}", $"{b.HostAndPort}/cluster-hello");
        search.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal("team/cluster-hello");
    }

    private static async Task<CliResult> DockerOk(DockerDaemon docker, params string[] args)
    {
        var result = await docker.RunCliAsync(args);
        result.ExitCode.Should().Be(0, $"docker {string.Join(' ', args)}: {result}");
        return result;
    }

    [GeneratedRegex(@"digest: (?<digest>sha256:[0-9a-f]{64})")]
    private static partial Regex DigestLine();
}
