using System.Diagnostics;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Auth;

/// <summary>
/// Real clients through the built-in token server of a real registry process: docker (login with Basic, then its
/// identity token as a refresh token; push, pull, logout, anonymous pull, a push refused for another user's
/// namespace) and skopeo (copy in and out with credentials, inspect, and with a robot's access token within its scope).
/// </summary>
[TestFixture]
[Category("docker")]
public sealed class TokenServerClientTests
{
    private const string Service = "client-test";
    private RegistryProcess _registry = null!;
    private TempDirectory _files = null!;

    private string Host => _registry.HostAndPort;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _files = new TempDirectory();
        var htpasswd = _files.File("htpasswd");
        await File.WriteAllLinesAsync(htpasswd, [HtpasswdFile.Line("alice", "s3cret"), HtpasswdFile.Line("bob", "b0b")]);
        _registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_TOKEN_SERVER"] = "true",
            ["REGISTRY_AUTH_TOKEN_SERVICE"] = Service,
        });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _registry.DisposeAsync();
        _files.Dispose();
    }

    [Test]
    public async Task Docker_logs_in_through_the_token_server_pushes_pulls_and_is_refused_elsewhere()
    {
        await using var docker = await DockerDaemon.StartAsync();
        async Task<CliResult> Ok(params string[] args)
        {
            var result = await docker.RunCliAsync(args);
            result.ExitCode.Should().Be(0, $"docker {string.Join(' ', args)}: {result}\n{_registry.Output}");
            return result;
        }

        using (var challenge = await _registry.Client.GetAsync("/v2/"))
            challenge.Header("WWW-Authenticate").Should().Be($"Bearer realm=\"http://{Host}/v2/token\",service=\"{Service}\"");

        var tar = _files.File("rootfs.tar");
        await File.WriteAllBytesAsync(tar, TarBuilder.Tar(("hello", "Hello through the token server\n")));
        var image = $"{Host}/alice/app:1.0";
        await Ok("import", tar, image);
        (await docker.RunCliAsync("push", image)).ExitCode.Should().NotBe(0);

        var wrong = await docker.RunCliAsync("login", "-u", "alice", "-p", "wrong", Host);
        wrong.ExitCode.Should().NotBe(0);
        (await Ok("login", "-u", "alice", "-p", "s3cret", Host)).Stdout.Should().Contain("Login Succeeded");
        // docker keeps the refresh token of the offline login as its identity token, not the password.
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(docker.CliConfigDirectory, "config.json")))!;
        ((string?)config["auths"]![Host]!["identitytoken"]).Should().NotBeNullOrEmpty();

        await Ok("push", image);
        await Ok("rmi", image);
        await Ok("pull", image);

        var foreign = $"{Host}/bob/app:1.0";
        await Ok("tag", image, foreign);
        var refused = await docker.RunCliAsync("push", foreign);
        refused.ExitCode.Should().NotBe(0);
        // docker words a 401 insufficient_scope after a token that lacks push as distribution's users know it.
        refused.Stderr.Should().Contain("denied: requested access to the resource is denied", refused.ToString());
        using (var tags = await _registry.Client.GetAsync("/v2/bob/app/tags/list"))
        {
            ((int)tags.StatusCode).Should().Be(404);
            (await tags.Content.ReadAsStringAsync()).Should().Contain("NAME_UNKNOWN");
        }

        await Ok("logout", Host);
        await Ok("rmi", image);
        await Ok("pull", image);
    }

    [Test]
    public async Task Skopeo_copies_in_and_out_with_credentials_and_inspects()
    {
        if (ChildProcess.FindOnPath("skopeo") is not { } skopeo)
        {
            ChildProcess.MissingDependency("skopeo is not installed (scripts/provision-test-deps.sh installs it)");
            return;
        }
        var layout = _files.File("oci");
        var digest = WriteOciLayout(layout, "v1");
        var target = $"docker://{Host}/alice/tool:v1";

        var anonymous = await RunAsync(skopeo, "copy", "--dest-tls-verify=false", $"oci:{layout}:v1", target);
        anonymous.ExitCode.Should().NotBe(0);
        (await RunAsync(skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", "alice:s3cret", $"oci:{layout}:v1", target))
            .ExitCode.Should().Be(0);

        var inspect = await RunAsync(skopeo, "inspect", "--tls-verify=false", "--creds", "alice:s3cret", target);
        inspect.ExitCode.Should().Be(0, inspect.ToString());
        var inspected = JsonNode.Parse(inspect.Stdout)!;
        ((string?)inspected["Digest"]).Should().Be(digest);
        inspected["RepoTags"]!.AsArray().Select(t => (string?)t).Should().Equal("v1");

        var back = _files.File("back");
        (await RunAsync(skopeo, "copy", "--src-tls-verify=false", "--src-creds", "bob:b0b", target, $"oci:{back}:v1")).ExitCode.Should().Be(0);
        File.ReadAllText(Path.Combine(back, "index.json")).Should().Contain(digest);
        var foreign = await RunAsync(skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--dest-creds", "bob:b0b",
            target, $"docker://{Host}/alice/stolen:v1");
        foreign.ExitCode.Should().NotBe(0);
    }

    [Test]
    public async Task Skopeo_copies_with_a_robot_access_token_inside_its_scope_only()
    {
        if (ChildProcess.FindOnPath("skopeo") is not { } skopeo)
        {
            ChildProcess.MissingDependency("skopeo is not installed (scripts/provision-test-deps.sh installs it)");
            return;
        }
        using var create = new HttpRequestMessage(HttpMethod.Post, "/v1/users/alice/tokens")
        {
            Content = new StringContent("""{"name": "skopeo", "scopes": [{"repository": "alice/robot", "actions": ["pull", "push"]}]}""",
                Encoding.UTF8, "application/json"),
            Headers = { Authorization = TestRegistry.Basic("alice", "s3cret") },
        };
        using var created = await _registry.Client.SendAsync(create);
        ((int)created.StatusCode).Should().Be(201, await created.Content.ReadAsStringAsync());
        var robot = "alice:" + JsonNode.Parse(await created.Content.ReadAsStringAsync())!["token"]!.GetValue<string>();
        var layout = _files.File("oci-robot");
        var digest = WriteOciLayout(layout, "v1");

        var push = await RunAsync(skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", robot, $"oci:{layout}:v1", $"docker://{Host}/alice/robot:v1");
        push.ExitCode.Should().Be(0, push.ToString());
        var back = _files.File("back-robot");
        var pull = await RunAsync(skopeo, "copy", "--src-tls-verify=false", "--src-creds", robot, $"docker://{Host}/alice/robot:v1", $"oci:{back}:v1");
        pull.ExitCode.Should().Be(0, pull.ToString());
        File.ReadAllText(Path.Combine(back, "index.json")).Should().Contain(digest);

        // alice may push to alice/other, her robot may not.
        var outside = await RunAsync(skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", robot, $"oci:{layout}:v1", $"docker://{Host}/alice/other:v1");
        outside.ExitCode.Should().NotBe(0);
        using var tags = await _registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v2/alice/other/tags/list")
        {
            Headers = { Authorization = TestRegistry.Basic("alice", "s3cret") },
        });
        ((int)tags.StatusCode).Should().Be(404);
    }

    private static async Task<CliResult> RunAsync(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>An OCI image layout with one gzip layer; returns the manifest digest.</summary>
    private static string WriteOciLayout(string directory, string tag)
    {
        Directory.CreateDirectory(Path.Combine(directory, "blobs", "sha256"));
        (string Digest, long Size) Blob(byte[] data)
        {
            var hex = Convert.ToHexStringLower(SHA256.HashData(data));
            File.WriteAllBytes(Path.Combine(directory, "blobs", "sha256", hex), data);
            return ("sha256:" + hex, data.Length);
        }
        var tar = TarBuilder.Tar(("hello.txt", "hello from skopeo through the token server\n"));
        using var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.Optimal, leaveOpen: true)) zip.Write(tar);
        var layer = Blob(gz.ToArray());
        var config = Blob(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            architecture = "amd64", os = "linux", rootfs = new { type = "layers", diff_ids = new[] { "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar)) } },
        })));
        var manifest = Blob(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = config.Digest, size = config.Size },
            ["layers"] = new[] { new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = layer.Digest, size = layer.Size } },
        })));
        File.WriteAllText(Path.Combine(directory, "index.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new[]
            {
                new Dictionary<string, object>
                {
                    ["mediaType"] = "application/vnd.oci.image.manifest.v1+json", ["digest"] = manifest.Digest, ["size"] = manifest.Size,
                    ["annotations"] = new Dictionary<string, string> { ["org.opencontainers.image.ref.name"] = tag },
                },
            },
        }));
        File.WriteAllText(Path.Combine(directory, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        return manifest.Digest;
    }
}
