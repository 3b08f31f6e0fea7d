using System.Diagnostics;
using System.Text.Json;
using FluentAssertions;
using Npgsql;
using NUnit.Framework;
using Registry.Index.Database;
using Registry.Index.Database.Postgres;
using Registry.Tests.Support;
using Registry.V1.Hosting;

namespace Registry.Tests.Faults;

/// <summary>
/// A registry process whose PostgreSQL index database goes down and comes back: what needs the database answers
/// 503 with the V1 error body and <c>Retry-After</c> (never 500), what does not keeps working, and the instance
/// recovers by itself; below the host, every PostgreSQL store reports the stopped server as
/// <see cref="IndexUnavailableException"/>. Each test runs its own server, so stopping it takes nothing from other tests.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class IndexDatabaseDownTests
{
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Search_answers_503_while_postgresql_is_down_pulls_keep_working_and_search_recovers_when_it_is_back()
    {
        await using var server = await PostgresServer.StartDedicatedAsync();
        var database = await server.CreateDatabaseAsync("down");
        var url = server.Url(database);
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["SQLALCHEMY_INDEX_DATABASE"] = url });
        var client = registry.Client;
        var id = V1Client.NewImageId();
        var layer = V1Client.RandomBytes(1000);
        (await client.PutIndexAsync("/v1/repositories/team/webapp/", $"[{{\"id\":\"{id}\"}}]").ReadAsync()).Status.Should().Be(200);
        await client.PushImageAsync(id, layer);
        (await client.PutTagAsync("team/webapp", "latest", id).ReadAsync()).Should().Be((200, "true"));
        (await client.PutIndexAsync("/v1/repositories/team/webapp/images", "[]").ReadAsync()).Status.Should().Be(204);
        SearchNames((await client.GetAsync("/v1/search?q=webapp").ReadAsync()).Body).Should().Equal("team/webapp");

        await server.StopAsync();

        // Twice: the first request meets the pooled connections the shutdown ended, the second a refused connect.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var search = await client.GetAsync("/v1/search?q=webapp");
            var body = await search.Content.ReadAsStringAsync();
            ((int)search.StatusCode).Should().Be(503, body);
            search.Header("Retry-After").Should().Be("5");
            search.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
            using var json = JsonDocument.Parse(body);
            json.RootElement.GetProperty("error").GetString().Should().Be(ErrorHandlingMiddleware.IndexUnavailableMessage);
        }
        using (var pull = await client.GetAsync($"/v1/images/{id}/layer"))
        {
            ((int)pull.StatusCode).Should().Be(200);
            (await pull.Content.ReadAsByteArrayAsync()).Should().Equal(layer);
        }
        (await client.GetAsync($"/v1/repositories/team/webapp/tags/latest").ReadAsync()).Should().Be((200, $"\"{id}\""));
        (await client.GetAsync("/v1/_ping").ReadAsync()).Status.Should().Be(200);
        (await client.GetAsync("/livez").ReadAsync()).Should().Be((200, "ok\n"));
        var ready = await client.GetAsync("/readyz").ReadAsync();
        ready.Status.Should().Be(503);
        using (var json = JsonDocument.Parse(ready.Body))
        {
            var check = json.RootElement.GetProperty("checks").GetProperty("index_database");
            check.GetProperty("status").GetString().Should().Be("unhealthy");
            check.GetProperty("description").GetString().Should().StartWith($"The index database 'postgresql://127.0.0.1:{server.Port}/{database}' is unavailable: ");
        }
        var output = registry.Output;
        output.Split('\n').Where(l => l.Contains("Index database unavailable on GET /v1/search", StringComparison.Ordinal))
            .Should().HaveCount(2, output);
        output.Should().NotContain("Unhandled error");

        await server.RestartAsync();

        var stopwatch = Stopwatch.StartNew();
        (int Status, string Body) answer;
        while (true)
        {
            answer = await client.GetAsync("/v1/search?q=webapp").ReadAsync();
            if (answer.Status != 503 || stopwatch.Elapsed > RecoveryTimeout) break;
            await Task.Delay(200);
        }
        answer.Status.Should().Be(200, answer.Body);
        SearchNames(answer.Body).Should().Equal("team/webapp");
        await Task.Delay(Registry.V1.Health.HealthReports.MaxAge);
        (await client.GetAsync("/readyz").ReadAsync()).Status.Should().Be(200);
        registry.Output.Should().NotContain("Unhandled error");
    }

    [Test]
    public async Task Every_store_reports_a_stopped_server_as_index_unavailable_and_works_again_after_a_restart()
    {
        await using var server = await PostgresServer.StartDedicatedAsync();
        var name = await server.CreateDatabaseAsync("down");
        await using var database = await PostgresIndexDatabase.OpenAsync(new NpgsqlConnectionStringBuilder(server.ConnectionString(name)), CancellationToken.None);
        var search = await database.OpenSearchIndexAsync(cacheResults: false, CancellationToken.None);
        var calls = new Dictionary<string, Func<Task>>
        {
            ["accounts"] = () => database.Accounts.HashOfAsync("someone", CancellationToken.None),
            ["images"] = () => database.Images.CountAsync(CancellationToken.None),
            ["private repositories"] = () => database.PrivateRepositories.SearchAsync("x", null, everyone: true, CancellationToken.None),
            ["search"] = () => search.CountAsync(CancellationToken.None),
            ["stars"] = () => database.Hub.StarAsync("team/app", "alice", CancellationToken.None),
            ["comments"] = () => database.Hub.CommentsAsync("team/app", 0, 10, CancellationToken.None),
        };
        foreach (var call in calls.Values) await call();

        await server.StopAsync();

        foreach (var (store, call) in calls)
        {
            var failure = await call.Should().ThrowAsync<IndexUnavailableException>(store);
            failure.Which.Location.Should().Be(database.Location);
            failure.Which.Message.Should().StartWith($"The index database '{database.Location}' is unavailable: ").And.NotContain(PostgresServer.Password);
        }

        await server.RestartAsync();

        foreach (var (store, call) in calls) await call.Should().NotThrowAsync(store);
    }

    private static List<string?> SearchNames(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()).ToList();
    }
}
