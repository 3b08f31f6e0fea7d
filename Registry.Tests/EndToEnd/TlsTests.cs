using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary><c>tls: {certificate, key}</c> makes the server speak HTTPS; docker search works over it.</summary>
[Category("e2e")]
public class TlsTests
{
    [Test]
    public async Task Tls_config_serves_https_and_refuses_plain_http()
    {
        var dir = Directory.CreateTempSubdirectory("registry-tls-").FullName;
        try
        {
            var (certificate, key) = TestCertificate.Write(dir);
            await using var server = await RegistryProcess.StartAsync(new Dictionary<string, string?>
            {
                ["REGISTRY_TLS_CERTIFICATE"] = certificate,
                ["REGISTRY_TLS_KEY"] = key,
            });
            server.BaseAddress.Scheme.Should().Be("https");
            (await server.Client.GetAsync("/v1/_ping").ReadAsync()).Status.Should().Be(200);

            using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}/"), Timeout = TimeSpan.FromSeconds(5) };
            var act = async () => await plain.GetAsync("/v1/_ping");
            await act.Should().ThrowAsync<HttpRequestException>();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task Docker_search_over_https_shows_public_results_anonymously_and_own_private_ones_with_credentials()
    {
        var dir = Directory.CreateTempSubdirectory("registry-tls-").FullName;
        try
        {
            var (certificate, key) = TestCertificate.Write(dir);
            var htpasswd = Path.Combine(dir, "htpasswd");
            await File.WriteAllTextAsync(htpasswd, HtpasswdFile.Line("alice", "alice-pw") + "\n");
            await using var server = await RegistryProcess.StartAsync(new Dictionary<string, string?>
            {
                ["REGISTRY_TLS_CERTIFICATE"] = certificate,
                ["REGISTRY_TLS_KEY"] = key,
                ["REGISTRY_AUTH"] = "htpasswd",
                ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            });
            var login = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("alice:alice-pw"u8.ToArray()));
            foreach (var repo in new[] { "tlsvisible", "tlssecret" })
            {
                var put = new HttpRequestMessage(HttpMethod.Put, $"/v1/repositories/alice/{repo}/") { Content = new StringContent("[]") };
                put.Headers.Authorization = login;
                (await server.Client.SendAsync(put).ReadAsync()).Status.Should().Be(200);
            }
            var hide = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/alice/tlssecret/properties") { Content = new StringContent("{\"access\": \"private\"}") };
            hide.Headers.Authorization = login;
            (await server.Client.SendAsync(hide).ReadAsync()).Status.Should().Be(200);

            await using var docker = await DockerDaemon.StartAsync();
            var anonymous = await docker.RunCliAsync("search", "--format", "{{.Name}}", $"{server.HostAndPort}/tls");
            anonymous.ExitCode.Should().Be(0, anonymous.Stderr);
            anonymous.Stdout.Trim().Should().Be("alice/tlsvisible");

            await File.WriteAllTextAsync(Path.Combine(docker.CliConfigDirectory, "config.json"),
                $"{{\"auths\": {{\"{server.HostAndPort}\": {{\"auth\": \"{Convert.ToBase64String("alice:alice-pw"u8.ToArray())}\"}}}}}}");
            var withCredentials = await docker.RunCliAsync("search", "--format", "{{.Name}}", $"{server.HostAndPort}/tls");
            withCredentials.ExitCode.Should().Be(0, withCredentials.Stderr);
            withCredentials.Stdout.Trim().Split('\n').Should().Equal("alice/tlssecret", "alice/tlsvisible");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
