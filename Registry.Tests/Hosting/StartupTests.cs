using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary>
/// Start-up as a real process: every failure is one line on stderr naming the setting and its variable, with exit
/// code 1; a configured key the server does not implement is refused or warned about; a good start says what it runs.
/// </summary>
[Category("e2e")]
public class StartupTests
{
    private static readonly string SampleFile = Path.Combine(Path.GetDirectoryName(typeof(Program).Assembly.Location)!, "config_sample.yml");

    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("registry-startup-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private Dictionary<string, string?> Env(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string?>
        {
            ["DOCKER_REGISTRY_CONFIG"] = SampleFile,
            ["STORAGE_PATH"] = Path.Combine(_root, "storage"),
            ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(_root, "search.db"),
        };
        foreach (var (k, v) in extra) env[k] = v;
        return env;
    }

    private async Task ShouldFailWithAsync(Dictionary<string, string?> env, string line, string urls = "http://127.0.0.1:0")
    {
        var result = await RegistryProcess.RunOnceAsync(env, "--urls", urls);
        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Be(line + "\n");
    }

    [Test]
    public async Task An_unreachable_postgresql_index_database_is_one_line_with_the_password_masked()
    {
        var port = FreePort.Next();

        var result = await RegistryProcess.RunOnceAsync(
            Env(("SQLALCHEMY_INDEX_DATABASE", $"postgresql+psycopg2://registry:s3cret@127.0.0.1:{port}/registry")), "--urls", "http://127.0.0.1:0");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().StartWith(
            $"config error in {SampleFile}, flavor \"dev\", key \"sqlalchemy_index_database\" (from $SQLALCHEMY_INDEX_DATABASE=\"***\"): " +
            $"cannot open the PostgreSQL database postgresql+psycopg2://registry:***@127.0.0.1:{port}/registry: ")
            .And.EndWith("\n").And.NotContain("s3cret");
        result.Stderr.TrimEnd('\n').Should().NotContain("\n");
    }

    [Test]
    public async Task A_registry_on_postgresql_serves_a_v1_push_and_search_and_reindex_rebuilds_it()
    {
        var server = await PostgresServer.SharedAsync();
        var url = server.Url(await server.CreateDatabaseAsync("startup"));
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["SQLALCHEMY_INDEX_DATABASE"] = url });
        var client = registry.Client;
        var id = V1Client.NewImageId();

        (await client.PutIndexAsync("/v1/repositories/team/webapp/", $"[{{\"id\":\"{id}\"}}]").ReadAsync()).Status.Should().Be(200);
        await client.PushImageAsync(id, V1Client.RandomBytes(1000));
        (await client.PutTagAsync("team/webapp", "latest", id).ReadAsync()).Should().Be((200, "true"));
        (await client.PutIndexAsync("/v1/repositories/team/webapp/images", "[]").ReadAsync()).Status.Should().Be(204);

        var (status, body) = await client.GetAsync("/v1/search?q=WEBAPP").ReadAsync();
        status.Should().Be(200);
        using var json = JsonDocument.Parse(body);
        json.RootElement.GetProperty("num_results").GetInt32().Should().Be(1, body);
        json.RootElement.GetProperty("results")[0].GetProperty("name").GetString().Should().Be("team/webapp");
        (await client.GetAsync("/v1/repositories/team/webapp/tags/latest").ReadAsync()).Should().Be((200, $"\"{id}\""));
        Lines(registry.Output).Should().ContainSingle(l => l.Contains("Starting flavor", StringComparison.Ordinal)).Which.Should()
            .Contain($"index database {url.Replace(PostgresServer.Password, "***", StringComparison.Ordinal)}, search on")
            .And.NotContain(PostgresServer.Password);

        var reindex = await RegistryProcess.RunOnceAsync(
            Env(("SQLALCHEMY_INDEX_DATABASE", url), ("STORAGE_PATH", registry.StoragePath)), "reindex");
        reindex.ExitCode.Should().Be(0, reindex.ToString());
        reindex.Stdout.Should().Contain("team/webapp").And.Contain("reindexed 1 repositories").And.NotContain(PostgresServer.Password);
    }

    [Test]
    public Task A_storage_path_that_cannot_be_created() => ShouldFailWithAsync(
        Env(("STORAGE_PATH", "/proc/x")),
        $"config error in {SampleFile}, flavor \"dev\", key \"storage_path\" (from $STORAGE_PATH=\"/proc/x\"): " +
        "cannot create the storage directory /proc/x: Could not find file '/proc/x'.");

    [Test]
    public Task A_certificate_that_cannot_be_read() => ShouldFailWithAsync(
        Env(("REGISTRY_TLS_CERTIFICATE", "/nonexistent/cert.pem"), ("REGISTRY_TLS_KEY", "/nonexistent/key.pem")),
        $"config error in {SampleFile}, flavor \"dev\", key \"tls.certificate\" (from $REGISTRY_TLS_CERTIFICATE=\"/nonexistent/cert.pem\"): " +
        "cannot load certificate /nonexistent/cert.pem with key /nonexistent/key.pem: Could not find a part of the path '/nonexistent/cert.pem'.");

    [Test]
    public Task A_port_that_is_no_port() => ShouldFailWithAsync(
        Env(("REGISTRY_PORT", "http")),
        $"config error in {SampleFile}, flavor \"dev\" (from $REGISTRY_PORT=\"http\"): not a port number (1-65535)");

    [Test]
    public async Task An_address_in_use()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        await ShouldFailWithAsync(Env(),
            "start-up error in flavor \"dev\": the listen address (from --urls, ASPNETCORE_URLS or $REGISTRY_HOST/$REGISTRY_PORT) " +
            $"cannot be used: Failed to bind to address http://127.0.0.1:{port}: address already in use.",
            $"http://127.0.0.1:{port}");
    }

    [Test]
    public Task A_privileged_key_that_cannot_be_read() => ShouldFailWithAsync(
        Env(("PRIVILEGED_KEY", "/nonexistent/index.pub")),
        $"config error in {SampleFile}, flavor \"dev\", key \"privileged_key\" (from $PRIVILEGED_KEY=\"/nonexistent/index.pub\"): " +
        "the RSA public key cannot be read: Could not find a part of the path '/nonexistent/index.pub'.");

    [Test]
    public Task An_index_backed_registry_without_an_index_to_ask() => ShouldFailWithAsync(
        Env(("STANDALONE", "false"), ("INDEX_ENDPOINT", "")),
        $"config error in {SampleFile}, flavor \"dev\", key \"index_endpoint\" (from $INDEX_ENDPOINT=\"\"): " +
        "required when standalone is false and authentication is off (the registry asks this index to confirm tokens)");

    [Test]
    public async Task Bugsnag_set_is_one_start_up_warning_that_it_is_not_supported_and_error_mail_is_none()
    {
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["BUGSNAG"] = "api-key", ["SMTP_HOST"] = "mail" });

        Lines(registry.Output).Where(l => l.Contains("config warning", StringComparison.Ordinal)).Should().ContainSingle()
            .Which.Should().EndWith($"config warning in {SampleFile}, flavor \"dev\", key \"bugsnag\" (from $BUGSNAG=\"api-key\"): " +
                                    "Bugsnag error reporting is not implemented by this server; errors go to the log only");
    }

    [Test]
    public async Task The_default_start_is_quiet_and_says_what_it_runs()
    {
        await using var registry = await RegistryProcess.StartAsync();

        var lines = Lines(registry.Output);
        lines.Should().NotContain(l => l.Contains("warn:", StringComparison.Ordinal) || l.Contains("config ", StringComparison.Ordinal));
        lines.Should().ContainSingle(l => l.Contains("Starting flavor", StringComparison.Ordinal)).Which.Should().EndWith(
            $"Starting flavor \"dev\": storage file {registry.StoragePath}, index database {registry.SearchDatabasePath}, search on, " +
            $"auth none, cache off, listen http://127.0.0.1:{registry.Port}");
    }

    private static List<string> Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
}
