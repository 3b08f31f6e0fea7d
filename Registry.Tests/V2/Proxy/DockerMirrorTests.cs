using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V2.Proxy;

/// <summary>
/// A real dockerd with <c>registry-mirrors</c> pulling a Docker Hub name (<c>hello</c>, which it asks the mirror for as
/// <c>library/hello</c>) through this registry as a pull-through cache of (a) the Go registry and (b) another instance
/// of this registry behind htpasswd; then the upstream is stopped, the image removed, and pulled again from the cache.
/// </summary>
[TestFixture]
[Category("docker")]
public sealed class DockerMirrorTests
{
    [Test]
    public async Task Dockerd_pulls_through_the_mirror_of_a_go_registry_and_again_from_the_cache_with_it_stopped()
    {
        await using var upstream = await GoRegistry.StartAsync();
        await using var mirror = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["REGISTRY_PROXY_REMOTEURL"] = upstream.Url });
        await using var docker = await DockerDaemon.StartAsync($"{{\"registry-mirrors\": [\"http://{mirror.HostAndPort}\"]}}");
        await SeedAsync(docker, mirror, $"127.0.0.1:{upstream.Port}");

        await PullTwiceAsync(docker, mirror, upstream.StopAsync);
        upstream.Requests.Should().Contain(r => r.Method == "GET" && r.Path.StartsWith("/v2/library/hello/blobs/sha256:", StringComparison.Ordinal));
    }

    [Test]
    public async Task Dockerd_pulls_through_the_mirror_of_this_registry_behind_htpasswd()
    {
        await using var protectedUpstream = await ProtectedUpstream.StartAsync();
        var upstream = protectedUpstream.Process;
        await using var mirror = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_PROXY_REMOTEURL"] = $"http://{upstream.HostAndPort}",
            ["REGISTRY_PROXY_USERNAME"] = "mirror",
            ["REGISTRY_PROXY_PASSWORD"] = "m1rror-pass",
        });
        await using var docker = await DockerDaemon.StartAsync($"{{\"registry-mirrors\": [\"http://{mirror.HostAndPort}\"]}}");
        (await docker.RunCliAsync("login", "-u", "mirror", "-p", "m1rror-pass", upstream.HostAndPort)).ExitCode.Should().Be(0);
        await SeedAsync(docker, mirror, upstream.HostAndPort);
        (await docker.RunCliAsync("logout", upstream.HostAndPort)).ExitCode.Should().Be(0);

        await PullTwiceAsync(docker, mirror, () => upstream.StopAsync());
    }

    /// <summary>Imports a one-layer image and pushes it to the upstream as library/hello:latest, leaving nothing local.</summary>
    private static async Task SeedAsync(DockerDaemon docker, RegistryProcess mirror, string upstreamHost)
    {
        var tar = Path.Combine(mirror.RootDirectory, "rootfs.tar");
        await File.WriteAllBytesAsync(tar, TarBuilder.Tar(("hello.txt", "hello through a mirror\n"), ("etc/motd", "cached\n")));
        var image = $"{upstreamHost}/library/hello:latest";
        await OkAsync(docker, "import", tar, image);
        await OkAsync(docker, "push", image);
        await OkAsync(docker, "rmi", image);
    }

    private static async Task PullTwiceAsync(DockerDaemon docker, RegistryProcess mirror, Func<Task> stopUpstream)
    {
        var first = await OkAsync(docker, "pull", "hello:latest");
        first.Stdout.Should().Contain("Downloaded newer image for hello:latest");
        var digest = first.Stdout.Split('\n').Single(l => l.StartsWith("Digest: ", StringComparison.Ordinal))["Digest: ".Length..].Trim();
        (await mirror.Client.GetStringAsync("/v2/_catalog")).Should().Be("{\"repositories\":[\"library/hello\"]}");

        await stopUpstream();
        await OkAsync(docker, "rmi", "hello:latest");
        var again = await OkAsync(docker, "pull", "hello:latest");
        again.Stdout.Should().Contain("Downloaded newer image for hello:latest").And.Contain($"Digest: {digest}");
        (await OkAsync(docker, "image", "inspect", "--format", "{{.RepoDigests}}", "hello:latest")).Stdout.Should().Contain($"hello@{digest}");

        // Pushes keep working with the upstream down: a local repository, pushed and pulled back.
        var local = $"{mirror.HostAndPort}/team/local:v1";
        await OkAsync(docker, "tag", "hello:latest", local);
        var push = await OkAsync(docker, "push", local);
        push.Stdout.Should().Contain("v1: digest: sha256:");
        await OkAsync(docker, "rmi", local);
        (await OkAsync(docker, "pull", local)).Stdout.Should().Contain("Status: Downloaded newer image for " + local);
    }

    private static async Task<CliResult> OkAsync(DockerDaemon docker, params string[] args)
    {
        var result = await docker.RunCliAsync(args);
        result.ExitCode.Should().Be(0, $"docker {string.Join(' ', args)}: {result}");
        return result;
    }
}
