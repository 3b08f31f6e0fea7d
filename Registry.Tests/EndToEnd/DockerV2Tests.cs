using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// Today's docker engine against the real registry process over v2: the seeds' walkthrough (push,
/// catalog, tags, manifest digest, search), pull after removing the image, a cross-repository mount, and
/// <c>docker login</c> against an htpasswd-protected instance. The image is built without running a container:
/// <c>docker import</c> of a tar.
/// </summary>
[TestFixture]
[Category("docker")]
public sealed partial class DockerV2Tests
{
    private DockerDaemon? _docker;
    private RegistryProcess? _registry;
    private string _imageTar = null!;

    private string Host => _registry!.HostAndPort;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _docker = await DockerDaemon.StartAsync();
        _registry = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true" });
        _imageTar = Path.Combine(_registry.RootDirectory, "rootfs.tar");
        await File.WriteAllBytesAsync(_imageTar, TarBuilder.Tar(
            ("hello", "Hello from the v2 end-to-end test\n"),
            ("etc/motd", "a second file so the layer is not trivial\n")));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_registry is not null) await _registry.DisposeAsync();
        if (_docker is not null) await _docker.DisposeAsync();
    }

    [Test]
    public async Task Walkthrough_push_catalog_tags_digest_pull_and_search()
    {
        // Its own registry: the catalog must hold exactly what this test pushed.
        await using var registry = await RegistryProcess.StartAsync();
        var image = $"{registry.HostAndPort}/hello-world";
        await DockerOk("import", _imageTar, image + ":latest");
        var push = await DockerOk("push", image + ":latest");
        var pushedDigest = DigestLine().Match(push.Stdout).Groups["digest"].Value;
        pushedDigest.Should().StartWith("sha256:", push.ToString());

        var (catalogStatus, catalog) = await registry.Client.GetAsync("/v2/_catalog").ReadAsync();
        catalogStatus.Should().Be(200);
        catalog.Should().Be("{\"repositories\":[\"hello-world\"]}");

        var (tagsStatus, tags) = await registry.Client.GetAsync("/v2/hello-world/tags/list").ReadAsync();
        tagsStatus.Should().Be(200);
        tags.Should().Be("{\"name\":\"hello-world\",\"tags\":[\"latest\"]}");

        var head = new HttpRequestMessage(HttpMethod.Head, "/v2/hello-world/manifests/latest");
        head.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.docker.distribution.manifest.v2+json"));
        head.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.oci.image.manifest.v1+json"));
        using (var response = await registry.Client.SendAsync(head))
        {
            ((int)response.StatusCode).Should().Be(200);
            response.Header("Docker-Content-Digest").Should().Be(pushedDigest);
        }

        await DockerOk("rmi", image + ":latest");
        (await _docker!.RunCliAsync("image", "inspect", image + ":latest")).ExitCode.Should().NotBe(0);
        var pull = await DockerOk("pull", image + ":latest");
        pull.Stdout.Should().Contain($"Digest: {pushedDigest}");
        var ids = await DockerOk("image", "inspect", "--format", "{{.RepoDigests}}", image + ":latest");
        ids.Stdout.Should().Contain(pushedDigest);

        var search = await DockerOk("search", "--format", "{{.Name}}", $"{registry.HostAndPort}/hello");
        search.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Contain("hello-world");
    }

    [Test]
    public async Task A_second_repository_mounts_the_layer_instead_of_uploading_it()
    {
        var first = $"{Host}/mount/source";
        var second = $"{Host}/mount/target";
        await DockerOk("import", _imageTar, first + ":v1");
        await DockerOk("push", first + ":v1");
        await DockerOk("tag", first + ":v1", second + ":v1");

        var push = await DockerOk("push", second + ":v1");
        push.Stdout.Should().Contain("Mounted from mount/source", push.ToString());

        var (status, body) = await _registry!.Client.GetAsync("/v2/mount/target/tags/list").ReadAsync();
        status.Should().Be(200);
        body.Should().Be("{\"name\":\"mount/target\",\"tags\":[\"v1\"]}");
    }

    [Test]
    public async Task Missing_tag_pull_reports_manifest_unknown()
    {
        var pull = await _docker!.RunCliAsync("pull", $"{Host}/hello-world:no-such-tag");
        pull.ExitCode.Should().NotBe(0);
        pull.Stderr.Should().Contain("manifest unknown");
    }

    [Test]
    public async Task Login_against_htpasswd_then_push_and_pull_and_private_stays_private()
    {
        var root = Directory.CreateTempSubdirectory("registry-v2-login-").FullName;
        var htpasswd = Path.Combine(root, "htpasswd");
        await File.WriteAllLinesAsync(htpasswd, [HtpasswdFile.Line("alice", "s3cret"), HtpasswdFile.Line("bob", "b0b")]);
        await using var secured = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
        });
        var host = secured.HostAndPort;
        var image = $"{host}/alice/app";
        await DockerOk("import", _imageTar, image + ":1.0");

        var anonymous = await _docker!.RunCliAsync("push", image + ":1.0");
        anonymous.ExitCode.Should().NotBe(0);
        anonymous.Stderr.Should().Contain("no basic auth credentials");

        var wrong = await _docker.RunCliAsync("login", "-u", "alice", "-p", "wrong", host);
        wrong.ExitCode.Should().NotBe(0);
        wrong.Stderr.Should().Contain("401 Unauthorized");

        var login = await DockerOk("login", "-u", "alice", "-p", "s3cret", host);
        login.Stdout.Should().Contain("Login Succeeded");
        await DockerOk("push", image + ":1.0");
        await DockerOk("rmi", image + ":1.0");
        await DockerOk("pull", image + ":1.0");

        // The owner makes the repository private over V1 (shared rules); bob then cannot pull it over v2.
        var properties = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/alice/app/properties")
        {
            Content = new StringContent("{\"access\": \"private\"}", System.Text.Encoding.UTF8, "application/json"),
            Headers = { Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("alice:s3cret"u8.ToArray())) },
        };
        using (var response = await secured.Client.SendAsync(properties)) ((int)response.StatusCode).Should().Be(200);

        await DockerOk("logout", host);
        await DockerOk("login", "-u", "bob", "-p", "b0b", host);
        await DockerOk("rmi", image + ":1.0");
        var denied = await _docker.RunCliAsync("pull", image + ":1.0");
        denied.ExitCode.Should().NotBe(0);
        denied.Stderr.Should().Contain("denied");
        await DockerOk("logout", host);
    }

    private async Task<CliResult> DockerOk(params string[] args)
    {
        var result = await _docker!.RunCliAsync(args);
        result.ExitCode.Should().Be(0, $"docker {string.Join(' ', args)}: {result}");
        return result;
    }

    [GeneratedRegex(@"digest: (?<digest>sha256:[0-9a-f]{64})")]
    private static partial Regex DigestLine();
}
