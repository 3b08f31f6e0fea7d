using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;
using Registry.V1.Hosting;

namespace Registry.Tests.Index.Hub;

/// <summary>
/// The Hub API of a registry process whose PostgreSQL index database stops: 503 with <c>Retry-After</c> and the V1 error
/// body, never a 500; and working again once the server is back. The test runs its own server.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HubDatabaseDownTests
{
    [Test]
    public async Task Stars_and_comments_answer_503_while_postgresql_is_down_and_work_again_after()
    {
        await using var server = await PostgresServer.StartDedicatedAsync();
        var url = server.Url(await server.CreateDatabaseAsync("hubdown"));
        using var folder = new TempDirectory();
        var htpasswd = folder.File("htpasswd");
        File.WriteAllLines(htpasswd, [HtpasswdFile.Line("alice", "alice-pw")]);
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["SQLALCHEMY_INDEX_DATABASE"] = url,
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
        });
        var client = registry.Client;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:alice-pw")));
        var id = V1Client.NewImageId();
        await client.PushImageAsync(id, V1Client.RandomBytes(100));
        (await client.PutTagAsync("alice/app", "latest", id).ReadAsync()).Should().Be((200, "true"));
        (await client.PutAsync("/v1/repositories/alice/app/star", null).ReadAsync()).Status.Should().Be(204);

        await server.StopAsync();

        foreach (var (method, path) in new[]
                 {
                     (HttpMethod.Put, "/v1/repositories/alice/app/star"),
                     (HttpMethod.Get, "/v1/repositories/alice/app"),
                     (HttpMethod.Get, "/v1/repositories/alice/app/stargazers"),
                     (HttpMethod.Post, "/v1/repositories/alice/app/comments"),
                     (HttpMethod.Get, "/v1/users/alice/starred"),
                 })
        {
            using var request = new HttpRequestMessage(method, path) { Content = new StringContent("{\"comment\": \"hi\"}", Encoding.UTF8, "application/json") };
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            ((int)response.StatusCode).Should().Be(503, $"{method} {path}: {body}");
            response.Header("Retry-After").Should().Be("5");
            body.Should().Be(V1ErrorBody(ErrorHandlingMiddleware.IndexUnavailableMessage));
        }

        await server.RestartAsync();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        (int Status, string Body) summary;
        do
        {
            summary = await client.GetAsync("/v1/repositories/alice/app").ReadAsync();
            if (summary.Status == 200) break;
            await Task.Delay(200);
        } while (DateTime.UtcNow < deadline);

        summary.Should().Be((200, "{\"comment_count\": 0, \"description\": \"\", \"is_private\": false, \"name\": \"alice/app\", \"star_count\": 1, \"starred\": true}"));
        registry.Output.Should().NotContain("Unhandled error");
    }

    private static string V1ErrorBody(string message) => Registry.Core.Http.V1Results.ErrorBody(message);
}
