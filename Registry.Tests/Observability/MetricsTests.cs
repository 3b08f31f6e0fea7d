using System.Net;
using System.Net.Http.Headers;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Tests.Support;

namespace Registry.Tests.Observability;

/// <summary>
/// <c>/metrics</c> of a real registry process (its own, so no other test's requests move the counters), parsed as
/// Prometheus text: each counter moves by exactly the requests and bytes the test sent.
/// </summary>
[TestFixture]
public sealed class MetricsTests
{
    private const string Requests = "registry_http_requests_total";
    private RegistryProcess _registry = null!;

    private HttpClient Client => _registry.Client;

    [OneTimeSetUp]
    public async Task StartAsync() => _registry = await RegistryProcess.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _registry.DisposeAsync();

    [Test]
    public async Task Metrics_are_prometheus_text_on_the_main_port()
    {
        using var response = await Client.GetAsync("/metrics");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().Should().Be("text/plain; version=0.0.4; charset=utf-8");
        var scrape = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        scrape.Has("registry_uploads_in_flight").Should().BeTrue();
        scrape.Value("registry_uploads_in_flight").Should().Be(0);
        scrape.Has("registry_notifications_queue_depth").Should().BeTrue();
        scrape.Has("process_cpu_seconds_total").Should().BeTrue();
    }

    [Test]
    public async Task Requests_count_by_route_template_method_and_status()
    {
        var before = await PrometheusText.ScrapeAsync(Client);

        for (var i = 0; i < 3; i++) (await Client.GetAsync("/v2/")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await Client.GetAsync("/v2/team/metrics-a/manifests/latest")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await Client.GetAsync("/v2/other/metrics-b/manifests/v1")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await Client.GetAsync("/no/such/route")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await Client.GetAsync("/v1/repositories/team/metrics-c/tags/latest")).StatusCode.Should().Be(HttpStatusCode.NotFound);

        var after = await PrometheusText.ScrapeAsync(Client);
        double Moved(string route, string code) =>
            after.Value(Requests, ("route", route), ("method", "GET"), ("code", code))
            - before.Value(Requests, ("route", route), ("method", "GET"), ("code", code));
        Moved("/v2/", "200").Should().Be(3);
        Moved("/v2/<name>/manifests/<reference>", "404").Should().Be(2);
        Moved("unmatched", "404").Should().Be(1);
        Moved("/v1/repositories/{repo}/tags/{tag}", "404").Should().Be(1);
        (after.Value("registry_http_request_duration_seconds_count", ("route", "/v2/"), ("method", "GET"))
         - before.Value("registry_http_request_duration_seconds_count", ("route", "/v2/"), ("method", "GET"))).Should().Be(3);
        after.Samples.Keys.Should().NotContain(k => k.Contains("metrics-a") || k.Contains("no/such"), "raw paths never become labels");
    }

    [Test]
    public async Task Body_bytes_in_and_out_are_counted_exactly()
    {
        var blob = V1Client.RandomBytes(70_001);
        var digest = Digest.Compute("sha256", blob);
        var before = await PrometheusText.ScrapeAsync(Client);

        var upload = new ByteArrayContent(blob);
        upload.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        (await Client.PostAsync($"/v2/team/bytes/blobs/uploads/?digest={digest}", upload)).StatusCode.Should().Be(HttpStatusCode.Created);
        using (var get = await Client.GetAsync($"/v2/team/bytes/blobs/{digest}"))
            (await get.Content.ReadAsByteArrayAsync()).Should().Equal(blob);
        using (var head = new HttpRequestMessage(HttpMethod.Head, $"/v2/team/bytes/blobs/{digest}"))
            (await Client.SendAsync(head)).StatusCode.Should().Be(HttpStatusCode.OK);

        var after = await PrometheusText.ScrapeAsync(Client);
        double Moved(string metric, string route, string method) =>
            after.Value(metric, ("route", route), ("method", method)) - before.Value(metric, ("route", route), ("method", method));
        Moved("registry_http_request_bytes_total", "/v2/<name>/blobs/uploads/", "POST").Should().Be(blob.Length);
        Moved("registry_http_response_bytes_total", "/v2/<name>/blobs/<digest>", "GET").Should().Be(blob.Length);
        Moved("registry_http_response_bytes_total", "/v2/<name>/blobs/<digest>", "HEAD").Should().Be(0);
        Moved("registry_http_request_bytes_total", "/v2/<name>/blobs/<digest>", "GET").Should().Be(0);
        after.Value("registry_uploads_in_flight").Should().Be(0, "the upload's slot is given back");
    }

    [Test]
    public async Task Search_and_gc_are_counted()
    {
        var before = await PrometheusText.ScrapeAsync(Client);

        (await Client.GetAsync("/v1/search?q=anything")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await Client.GetAsync("/v1/search?q=other")).StatusCode.Should().Be(HttpStatusCode.OK);
        using var gc = await Client.PostAsync("/v1/_gc", null);
        gc.StatusCode.Should().Be(HttpStatusCode.OK, await gc.Content.ReadAsStringAsync());

        var after = await PrometheusText.ScrapeAsync(Client);
        (after.Value("registry_search_duration_seconds_count") - before.Value("registry_search_duration_seconds_count")).Should().Be(2);
        (after.Value("registry_gc_runs_total", ("dry_run", "false")) - before.Value("registry_gc_runs_total", ("dry_run", "false"))).Should().Be(1);
    }
}
