using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Observability;

/// <summary>The index-database error counter, with a real PostgreSQL index database that is stopped under the registry.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ErrorMetricsTests
{
    [Test]
    public async Task Each_503_for_a_stopped_index_database_is_counted_once()
    {
        await using var server = await PostgresServer.StartDedicatedAsync();
        var url = server.Url(await server.CreateDatabaseAsync("metrics"));
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["SQLALCHEMY_INDEX_DATABASE"] = url });
        (await registry.Client.GetAsync("/v1/search?q=x")).IsSuccessStatusCode.Should().BeTrue();
        var before = await PrometheusText.ScrapeAsync(registry.Client);

        await server.StopAsync();
        for (var i = 0; i < 2; i++) ((int)(await registry.Client.GetAsync("/v1/search?q=x")).StatusCode).Should().Be(503);

        var after = await PrometheusText.ScrapeAsync(registry.Client);
        (after.Value("registry_index_database_errors_total") - before.Value("registry_index_database_errors_total")).Should().Be(2);
        (after.Value("registry_http_requests_total", ("route", "/v1/search"), ("method", "GET"), ("code", "503"))
         - before.Value("registry_http_requests_total", ("route", "/v1/search"), ("method", "GET"), ("code", "503"))).Should().Be(2);
        after.Value("registry_storage_errors_total").Should().Be(0);
    }
}
