using System.Diagnostics;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Image;

/// <summary>
/// The top-level Dockerfile, built and run with a real dockerd as README.md's 'Container image' says: htpasswd auth
/// from a mounted file, data on a mounted volume, a push and a pull with the same daemon, and the data still there
/// after the container restarts. The bases are local stand-ins for Microsoft's (<see cref="LocalDotnetImages"/>);
/// NuGet restore inside the build reaches nuget.org through the host's network.
/// </summary>
[Category("docker")]
public class DockerImageTests
{
    private const string Image = "local/registry:image-test";
    private const string Container = "registry-image-test";
    private const string User = "tester";
    private const string Password = "image-test-pw";

    [Test]
    public async Task Docker_image_builds_runs_as_non_root_and_keeps_pushed_images_on_its_volume_across_a_restart()
    {
        await using var docker = await DockerDaemon.StartAsync();
        var dirs = Directory.CreateTempSubdirectory("registry-image-").FullName;
        var log = new List<string>();
        try
        {
            var clock = Stopwatch.StartNew();
            log.Add("bases: " + await LocalDotnetImages.BuildAsync(docker));

            clock.Restart();
            await Ok(docker, TimeSpan.FromMinutes(10), "build", "--network", "host", "--build-arg", "BUILD_IMAGE=" + LocalDotnetImages.Sdk,
                "--build-arg", "RUNTIME_IMAGE=" + LocalDotnetImages.Runtime, "-t", Image, RepositoryRoot());
            log.Add($"docker build {clock.Elapsed.TotalSeconds:0.0} s");

            var data = Directory.CreateDirectory(Path.Combine(dirs, "data")).FullName;
            var auth = Directory.CreateDirectory(Path.Combine(dirs, "auth")).FullName;
            await File.WriteAllTextAsync(Path.Combine(auth, "htpasswd"), HtpasswdFile.Line(User, Password) + "\n");
            // The image's user (uid 10001) owns the data directory, as the Dockerfile's header tells operators to do.
            await RunAsync("chown", "10001:10001", data);
            var port = FreePort.Next();
            var registry = $"127.0.0.1:{port}";

            clock.Restart();
            await Ok(docker, DockerDaemon.DefaultCliTimeout, "run", "-d", "--name", Container, "--network", "host",
                "-e", "REGISTRY_HOST=127.0.0.1", "-e", $"REGISTRY_PORT={port}",
                "-e", "REGISTRY_AUTH=htpasswd", "-e", "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd",
                "-v", $"{data}:/var/lib/registry", "-v", $"{auth}:/auth", Image);
            await WaitForChallengeAsync(docker, port);
            log.Add($"run until /v2/ answers {clock.Elapsed.TotalSeconds:0.0} s");

            (await Ok(docker, DockerDaemon.DefaultCliTimeout, "exec", Container, "id", "-u")).Stdout.Should().Be("10001\n");
            (await Ok(docker, DockerDaemon.DefaultCliTimeout, "image", "inspect", "--format",
                "{{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{.Config.User}}", Image)).Stdout
                .Should().Be("{\"5000/tcp\":{}} {\"/var/lib/registry\":{}} registry\n");

            // A user pushes into the namespace named after them (README.md, 'Auth').
            var tag = $"{registry}/{User}/busybox:1";
            await ImportBusyboxAsync(docker, dirs, tag);
            (await docker.RunCliAsync("push", tag)).Stderr.Should().Contain("no basic auth credentials");
            await Ok(docker, DockerDaemon.DefaultCliTimeout, "login", "-u", User, "-p", Password, registry);
            clock.Restart();
            await Ok(docker, DockerDaemon.DefaultCliTimeout, "push", tag);
            var pushedId = (await Ok(docker, DockerDaemon.DefaultCliTimeout, "image", "inspect", "--format", "{{.Id}}", tag)).Stdout;
            Directory.Exists(Path.Combine(data, $"docker/registry/v2/repositories/{User}/busybox")).Should().BeTrue("the push lands on the volume");

            await Ok(docker, DockerDaemon.DefaultCliTimeout, "restart", Container);
            await WaitForChallengeAsync(docker, port);
            await Ok(docker, DockerDaemon.DefaultCliTimeout, "rmi", tag);
            await Ok(docker, DockerDaemon.DefaultCliTimeout, "pull", tag);
            (await Ok(docker, DockerDaemon.DefaultCliTimeout, "image", "inspect", "--format", "{{.Id}}", tag)).Stdout.Should().Be(pushedId);
            (await Ok(docker, DockerDaemon.DefaultCliTimeout, "run", "--rm", "--network", "none", tag, "sh", "-c", "echo pulled back"))
                .Stdout.Should().Be("pulled back\n");
            log.Add($"push, restart, pull {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            await TestContext.Progress.WriteLineAsync("image test: " + string.Join("; ", log));
            var logs = await docker.RunCliAsync("logs", Container);
            await RegistryProcess.ShowOnFailureAsync("registry container output", logs.Stdout + logs.Stderr);
            await docker.RunCliAsync("rm", "-f", Container);
            await docker.RunCliAsync("rmi", "-f", Image, LocalDotnetImages.Sdk, LocalDotnetImages.Runtime);
            Directory.Delete(dirs, recursive: true);
        }
    }

    /// <summary>Until the registry in the container answers <c>GET /v2/</c> with its Basic challenge (bounded).</summary>
    private static async Task WaitForChallengeAsync(DockerDaemon docker, int port)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await client.GetAsync($"http://127.0.0.1:{port}/v2/");
                ((int)response.StatusCode).Should().Be(401);
                response.Headers.WwwAuthenticate.ToString().Should().StartWith("Basic realm=");
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(200);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                var logs = await docker.RunCliAsync("logs", Container);
                throw new TimeoutException($"the registry container did not answer on port {port} within 60 s: {logs}", e);
            }
        }
    }

    /// <summary>A 2 MB image with a shell: Debian's static busybox, imported without running anything.</summary>
    private static async Task ImportBusyboxAsync(DockerDaemon docker, string dirs, string tag)
    {
        var busybox = ChildProcess.FindOnPath("busybox", "/bin", "/usr/bin") ?? "/bin/busybox";
        if (!File.Exists(busybox)) ChildProcess.MissingDependency("busybox-static is not installed: scripts/provision-test-deps.sh installs it");
        var root = Directory.CreateDirectory(Path.Combine(dirs, "busybox", "bin")).Parent!.FullName;
        File.Copy(busybox, Path.Combine(root, "bin/busybox"));
        File.CreateSymbolicLink(Path.Combine(root, "bin/sh"), "busybox");
        File.CreateSymbolicLink(Path.Combine(root, "bin/echo"), "busybox");
        var tar = Path.Combine(dirs, "busybox.tar");
        await RunAsync("tar", "-C", root, "-cf", tar, ".");
        await Ok(docker, DockerDaemon.DefaultCliTimeout, "import", "-c", "CMD [\"sh\"]", tar, tag);
    }

    private static async Task<CliResult> Ok(DockerDaemon docker, TimeSpan timeout, params string[] args)
    {
        var result = await docker.RunCliAsync(args, timeout, CancellationToken.None);
        result.ExitCode.Should().Be(0, $"docker {string.Join(' ', args)}: {result}");
        return result;
    }

    private static async Task RunAsync(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        await ChildProcess.RunToEndAsync(info, TimeSpan.FromMinutes(1));
    }

    /// <summary>The checkout: the first folder above the test binaries that holds the Dockerfile and the solution.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Dockerfile")) && File.Exists(Path.Combine(dir.FullName, "Registry.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"no Dockerfile above {AppContext.BaseDirectory}");
    }
}
