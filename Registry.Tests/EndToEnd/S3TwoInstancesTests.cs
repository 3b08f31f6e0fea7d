using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// Two registry processes on the s3 flavor sharing one bucket and one search database file, as stateless
/// instances behind a load balancer: what one accepts, the other serves.
/// </summary>
[TestFixture]
[Category("s3")]
[Category("e2e")]
public sealed class S3TwoInstancesTests
{
    [Test]
    public async Task Push_through_one_instance_pull_and_search_through_the_other()
    {
        var rgw = await CephRgw.SharedAsync();
        var bucket = await rgw.CreateBucketAsync("shared");
        var shared = Directory.CreateTempSubdirectory("registry-shared-").FullName;
        try
        {
            var env = rgw.FlavorEnvironment(bucket, "/registry");
            env["SETTINGS_FLAVOR"] = "s3";
            env["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(shared, "search.db");
            await using var first = await RegistryProcess.StartAsync(env);
            await using var second = await RegistryProcess.StartAsync(env);
            var (a, b) = (V1Client.NewImageId(), V1Client.NewImageId());
            var layerA = V1Client.RandomBytes(50_000);
            var layerB = V1Client.RandomBytes(Registry.Core.Storage.S3StorageDriver.PartSize + 777);

            (await first.Client.PutIndexAsync("/v1/repositories/team/shared-app/", $"[{{\"id\":\"{a}\"}},{{\"id\":\"{b}\"}}]").ReadAsync())
                .Status.Should().Be(200);
            await first.Client.PushImageAsync(a, layerA);
            await first.Client.PushImageAsync(b, layerB, parent: a);
            (await first.Client.PutTagAsync("team/shared-app", "latest", b).ReadAsync()).Should().Be((200, "true"));
            (await first.Client.PutIndexAsync("/v1/repositories/team/shared-app/images", "[]").ReadAsync()).Status.Should().Be(204);

            (await second.Client.GetAsync("/v1/repositories/team/shared-app/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{b}\"}}"));
            (await second.Client.GetAsync($"/v1/images/{b}/ancestry").ReadAsync()).Should().Be((200, $"[\"{b}\", \"{a}\"]"));
            (await second.Client.GetByteArrayAsync($"/v1/images/{a}/layer")).Should().Equal(layerA);
            (await second.Client.GetByteArrayAsync($"/v1/images/{b}/layer")).Should().Equal(layerB);
            // A second push of a complete image through the other instance is refused as the first would refuse it.
            (await second.Client.PutJsonAsync(a, V1Client.ImageJson(a)).ReadAsync()).Should().Be((409, "{\"error\": \"Image already exists\"}"));

            var (status, body) = await second.Client.GetAsync("/v1/search?q=shared").ReadAsync();
            status.Should().Be(200);
            using var doc = JsonDocument.Parse(body);
            doc.RootElement.GetProperty("num_results").GetInt32().Should().Be(1);
            doc.RootElement.GetProperty("results")[0].GetProperty("name").GetString().Should().Be("team/shared-app");

            // And back: a tag deleted through the second instance is gone for the first one.
            (await second.Client.DeleteAsync("/v1/repositories/team/shared-app/tags/latest").ReadAsync()).Status.Should().Be(200);
            (await first.Client.GetAsync("/v1/repositories/team/shared-app/tags").ReadAsync()).Should().Be((200, "{}"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(shared, recursive: true);
        }
    }
}
