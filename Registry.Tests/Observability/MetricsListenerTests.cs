using System.Net;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Observability;

/// <summary>Where the metrics are served: the Go registry's debug listener, and the main port with auth on.</summary>
[TestFixture]
public sealed class MetricsListenerTests
{
    [Test]
    public async Task Debug_listener_serves_metrics_and_health_only_and_the_main_port_has_no_metrics()
    {
        var debugPort = FreePort.Next();
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_HTTP_DEBUG_ADDR"] = $"127.0.0.1:{debugPort}",
        });
        using var debug = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{debugPort}/") };

        (await registry.Client.GetAsync("/v2/")).StatusCode.Should().Be(HttpStatusCode.OK);
        var scrape = await PrometheusText.ScrapeAsync(debug);
        scrape.Value("registry_http_requests_total", ("route", "/v2/"), ("method", "GET"), ("code", "200")).Should().Be(1);
        (await debug.GetAsync("/livez")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await debug.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await debug.GetAsync("/debug/health")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await debug.GetAsync("/v2/")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await debug.GetAsync("/v1/_ping")).StatusCode.Should().Be(HttpStatusCode.NotFound);

        using var main = await registry.Client.GetAsync("/metrics");
        main.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await main.Content.ReadAsStringAsync()).Should().Be("{\"error\": \"Not found\"}");
        registry.Output.Should().Contain($"Metrics: /metrics on the debug listener 127.0.0.1:{debugPort}");
    }

    [Test]
    public async Task Metrics_path_and_switch_follow_the_go_keys()
    {
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_HTTP_DEBUG_PROMETHEUS_PATH"] = "/prom",
        });
        (await registry.Client.GetAsync("/prom")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await registry.Client.GetAsync("/metrics")).StatusCode.Should().Be(HttpStatusCode.NotFound);

        await using var off = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["METRICS_ENABLED"] = "false" });
        (await off.Client.GetAsync("/metrics")).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task With_auth_on_the_main_port_needs_a_valid_user()
    {
        var htpasswd = Path.Combine(Path.GetTempPath(), "metrics-htpasswd-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(htpasswd, HtpasswdFile.Line("scraper", "scrape-pw") + "\n");
        try
        {
            await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
            {
                ["REGISTRY_AUTH"] = "htpasswd",
                ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
                ["REGISTRY_AUTH_HTPASSWD_REALM"] = "Metrics Realm",
            });

            using var anonymous = await registry.Client.GetAsync("/metrics");
            anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            anonymous.Headers.WwwAuthenticate.ToString().Should().Be("Basic realm=\"Metrics Realm\"");
            (await anonymous.Content.ReadAsStringAsync()).Should().Be("{\"error\": \"Requires authorization\"}");

            using var wrong = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = TestRegistry.Basic("scraper", "nope") } };
            (await registry.Client.SendAsync(wrong)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

            using var right = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = TestRegistry.Basic("scraper", "scrape-pw") } };
            using var scrape = await registry.Client.SendAsync(right);
            scrape.StatusCode.Should().Be(HttpStatusCode.OK);
            PrometheusText.Parse(await scrape.Content.ReadAsStringAsync()).Has("registry_uploads_in_flight").Should().BeTrue();
        }
        finally
        {
            File.Delete(htpasswd);
        }
    }
}
