using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary>
/// <c>/livez</c>, <c>/readyz</c> and the Go registry's <c>/debug/health</c> through HTTP against the real app with real
/// storage, SQLite and Redis (docs/operating.md, 'Health').
/// </summary>
[TestFixture]
public sealed class HealthTests
{
    [Test]
    public async Task A_working_registry_is_live_and_ready_and_leaves_no_probe_file_behind()
    {
        await using var registry = TestRegistry.Start();

        using (var live = await registry.Client.GetAsync("/livez"))
        {
            ((int)live.StatusCode).Should().Be(200);
            live.Content.Headers.ContentType!.ToString().Should().Be("text/plain; charset=utf-8");
            live.Headers.CacheControl!.ToString().Should().Be("no-store");
            (await live.Content.ReadAsStringAsync()).Should().Be("ok\n");
        }

        using (var ready = await registry.Client.GetAsync("/readyz"))
        {
            ((int)ready.StatusCode).Should().Be(200);
            ready.Content.Headers.ContentType!.ToString().Should().Be("application/json; charset=utf-8");
            ready.Headers.CacheControl!.ToString().Should().Be("no-store");
            (await ready.Content.ReadAsStringAsync()).Should().Be(
                "{\"status\":\"healthy\",\"checks\":{\"storage\":{\"status\":\"healthy\",\"description\":\"writable\"}," +
                "\"index_database\":{\"status\":\"healthy\",\"description\":\"answers\"}}}");
        }

        using (var debug = await registry.Client.GetAsync("/debug/health"))
        {
            ((int)debug.StatusCode).Should().Be(200);
            (await debug.Content.ReadAsStringAsync()).Should().Be("{}");
        }

        using (var head = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/readyz")))
            ((int)head.StatusCode).Should().Be(200);
        Directory.EnumerateFileSystemEntries(Path.Combine(registry.StorageRoot, "_health")).Should().BeEmpty();
    }

    [Test]
    public async Task Storage_that_cannot_be_written_makes_the_instance_not_ready_but_still_live()
    {
        await using var registry = TestRegistry.Start();
        // A file where the probe's folder should be: every write under it fails, as on a full or read-only disk.
        await File.WriteAllTextAsync(Path.Combine(registry.StorageRoot, "_health"), "in the way");

        using (var ready = await registry.Client.GetAsync("/readyz"))
        {
            ((int)ready.StatusCode).Should().Be(503);
            var body = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
            body["status"]!.GetValue<string>().Should().Be("unhealthy");
            body["checks"]!["storage"]!["status"]!.GetValue<string>().Should().Be("unhealthy");
            body["checks"]!["storage"]!["description"]!.GetValue<string>().Should().Contain("_health");
            body["checks"]!["index_database"]!["status"]!.GetValue<string>().Should().Be("healthy");
        }

        using (var debug = await registry.Client.GetAsync("/debug/health"))
        {
            ((int)debug.StatusCode).Should().Be(503);
            var failing = JsonNode.Parse(await debug.Content.ReadAsStringAsync())!.AsObject();
            failing.Select(p => p.Key).Should().Equal("storagedriver_filesystem");
            failing["storagedriver_filesystem"]!.GetValue<string>().Should().Contain("_health");
        }

        ((int)(await registry.Client.GetAsync("/livez")).StatusCode).Should().Be(200);
    }

    [Test]
    public async Task An_index_database_file_that_is_gone_makes_the_instance_not_ready()
    {
        await using var registry = TestRegistry.Start();
        ((int)(await registry.Client.GetAsync("/readyz")).StatusCode).Should().Be(200);
        // As when a /tmp cleaner takes the default /tmp/docker-registry.db: open connections still see the old file.
        foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(registry.DatabasePath + suffix);
        await Task.Delay(HealthReportsMaxAge);

        using var ready = await registry.Client.GetAsync("/readyz");

        ((int)ready.StatusCode).Should().Be(503);
        var body = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
        body["checks"]!["index_database"]!["status"]!.GetValue<string>().Should().Be("unhealthy");
        body["checks"]!["index_database"]!["description"]!.GetValue<string>().Should().StartWith(registry.DatabasePath + ": ");
        body["checks"]!["storage"]!["status"]!.GetValue<string>().Should().Be("healthy");
    }

    [Test]
    public async Task Redis_that_does_not_answer_is_degraded_not_unready()
    {
        var port = FreePort.Next();
        await using var registry = TestRegistry.Start(new Dictionary<string, string>
        {
            ["CACHE_REDIS_HOST"] = "127.0.0.1",
            ["CACHE_REDIS_PORT"] = port.ToString(),
        });

        using (var ready = await registry.Client.GetAsync("/readyz"))
        {
            ((int)ready.StatusCode).Should().Be(200);
            (await ready.Content.ReadAsStringAsync()).Should().Be(
                "{\"status\":\"degraded\",\"checks\":{\"storage\":{\"status\":\"healthy\",\"description\":\"writable\"}," +
                "\"index_database\":{\"status\":\"healthy\",\"description\":\"answers\"}," +
                $"\"redis\":{{\"status\":\"degraded\",\"description\":\"redis 127.0.0.1:{port} db 0 does not answer; serving without it\"}}}}}}");
        }

        using var debug = await registry.Client.GetAsync("/debug/health");
        ((int)debug.StatusCode).Should().Be(200);
        (await debug.Content.ReadAsStringAsync()).Should().Be("{}");
    }

    [Test]
    public async Task Redis_that_answers_is_healthy()
    {
        var server = await RedisServer.SharedAsync();
        await using var registry = TestRegistry.Start(new Dictionary<string, string>
        {
            ["CACHE_REDIS_HOST"] = "127.0.0.1",
            ["CACHE_REDIS_PORT"] = server.Port.ToString(),
            ["CACHE_REDIS_DB"] = (await server.NewDatabaseAsync()).ToString(),
        });
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string body;
        do
        {
            await Task.Delay(HealthReportsMaxAge);
            body = await registry.Client.GetStringAsync("/readyz");
        }
        while (!body.StartsWith("{\"status\":\"healthy\"", StringComparison.Ordinal) && DateTime.UtcNow < deadline);

        JsonNode.Parse(body)!["checks"]!["redis"]!.ToJsonString().Should().Be("{\"status\":\"healthy\",\"description\":\"answers\"}");
    }

    [Test]
    public async Task Probes_need_no_credentials_when_auth_is_on()
    {
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:secret"]);

        ((int)(await registry.Client.GetAsync("/v2/")).StatusCode).Should().Be(401);
        foreach (var path in new[] { "/livez", "/readyz", "/debug/health" })
            ((int)(await registry.Client.GetAsync(path)).StatusCode).Should().Be(200, path);
    }

    private static readonly TimeSpan HealthReportsMaxAge = Registry.V1.Health.HealthReports.MaxAge + TimeSpan.FromMilliseconds(100);
}
