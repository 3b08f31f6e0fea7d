using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Redis;
using Registry.Core.Storage.Caching;
using Registry.Tests.Support;

namespace Registry.Tests.Caching;

/// <summary>
/// <c>cache_lru</c> and <c>cache</c> through HTTP against the real app and a real Redis: small files are served from
/// Redis, two instances on one storage never serve each other a stale tag, and Redis going away costs nothing but
/// speed.
/// </summary>
[TestFixture]
public sealed class RedisCacheHttpTests
{
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(20);

    [Test]
    public async Task Image_json_ancestry_tags_and_layer_sizes_are_served_from_redis_and_layer_bytes_from_storage()
    {
        var server = await RedisServer.SharedAsync();
        var database = await server.NewDatabaseAsync();
        await using var registry = TestRegistry.Start(LruEnvironment(server, database));
        var id = V1Client.NewImageId();
        var json = await registry.Client.PushImageAsync(id, V1Client.RandomBytes(100));
        (await registry.Client.PutTagAsync("library/app", "latest", id).ReadAsync()).Status.Should().Be(200);
        await WaitActiveAsync(registry, $"/v1/images/{id}/json");

        (await registry.Client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Should().Be((200, json));
        (await registry.Client.GetAsync($"/v1/images/{id}/ancestry").ReadAsync()).Should().Be((200, $"[\"{id}\"]"));
        (await registry.Client.GetAsync("/v1/repositories/library/app/tags/latest").ReadAsync()).Should().Be((200, $"\"{id}\""));

        // Behind the registry's back (no instance writes storage like this): the answers can only come from Redis.
        var imageDir = Path.Combine(registry.StorageRoot, "images", id);
        await File.WriteAllTextAsync(Path.Combine(imageDir, "json"), "{\"changed\":true}");
        await File.WriteAllTextAsync(Path.Combine(imageDir, "ancestry"), "[\"changed\"]");
        await File.WriteAllTextAsync(Path.Combine(registry.StorageRoot, "repositories", "library", "app", "tag_latest"), "changed");
        // Same length: the size stays right, and the bytes show where they came from.
        var layer = V1Client.RandomBytes(100);
        await File.WriteAllBytesAsync(Path.Combine(imageDir, "layer"), layer);

        (await registry.Client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Should().Be((200, json));
        (await registry.Client.GetAsync($"/v1/images/{id}/ancestry").ReadAsync()).Should().Be((200, $"[\"{id}\"]"));
        (await registry.Client.GetAsync("/v1/repositories/library/app/tags/latest").ReadAsync()).Should().Be((200, $"\"{id}\""));
        (await registry.Client.GetByteArrayAsync($"/v1/images/{id}/layer")).Should().Equal(layer);
        var keys = await server.CommandAsync("SELECT", database.ToString(), "KEYS", "registry:files:*:d:*");
        keys.Split('\n').Should().Contain(k => k.EndsWith($":d:images/{id}/json"))
            .And.Contain(k => k.EndsWith($":d:images/{id}/ancestry"))
            .And.Contain(k => k.EndsWith(":d:repositories/library/app/tag_latest"));
        var layerKey = keys.Split('\n').Single(k => k.EndsWith($":d:images/{id}/layer"));
        (await server.CommandAsync("SELECT", database.ToString(), "GET", layerKey)).Should().Be("S100");
        var headers = await registry.Client.GetAsync($"/v1/images/{id}/json");
        headers.Header("X-Docker-Size").Should().Be("100");
    }

    [Test]
    public async Task Two_instances_on_one_storage_and_one_redis_never_serve_a_stale_tag()
    {
        var server = await RedisServer.SharedAsync();
        var database = await server.NewDatabaseAsync();
        await using var a = TestRegistry.Start(LruEnvironment(server, database));
        var shared = LruEnvironment(server, database);
        shared["STORAGE_PATH"] = a.StorageRoot;
        await using var b = TestRegistry.Start(shared);
        var first = V1Client.NewImageId();
        var second = V1Client.NewImageId();
        await a.Client.PushImageAsync(first, V1Client.RandomBytes(10));
        await a.Client.PushImageAsync(second, V1Client.RandomBytes(10), parent: first);
        await WaitActiveAsync(a, $"/v1/images/{first}/json");
        await WaitActiveAsync(b, $"/v1/images/{first}/json");

        for (var round = 0; round < 20; round++)
        {
            var id = round % 2 == 0 ? first : second;
            var writer = round % 3 == 0 ? b : a;
            var reader = writer == a ? b : a;
            (await writer.Client.PutTagAsync("library/app", "latest", id).ReadAsync()).Status.Should().Be(200);

            (await reader.Client.GetAsync("/v1/repositories/library/app/tags/latest").ReadAsync()).Should().Be((200, $"\"{id}\""), $"round {round}");
            (await reader.Client.GetAsync("/v1/repositories/library/app/tags/latest").ReadAsync()).Should().Be((200, $"\"{id}\""), $"round {round}");
        }
        (await b.Client.GetAsync($"/v1/images/{second}/ancestry").ReadAsync()).Should().Be((200, $"[\"{second}\", \"{first}\"]"));

        (await a.Client.DeleteAsync("/v1/repositories/library/app/tags/latest").ReadAsync()).Status.Should().Be(200);
        (await b.Client.GetAsync("/v1/repositories/library/app/tags/latest").ReadAsync()).Status.Should().Be(404);
        (await b.Client.PutTagAsync("library/app", "v1", first).ReadAsync()).Status.Should().Be(200);
        (await a.Client.GetAsync("/v1/repositories/library/app/tags/v1").ReadAsync()).Should().Be((200, $"\"{first}\""));
        (await a.Client.DeleteAsync("/v1/repositories/library/app/").ReadAsync()).Status.Should().Be(200);
        (await b.Client.GetAsync("/v1/repositories/library/app/tags/v1").ReadAsync()).Status.Should().Be(404);
    }

    [Test]
    public async Task Redis_stopped_mid_run_costs_one_warning_and_no_request_and_caching_resumes_when_it_is_back()
    {
        await using var server = await RedisServer.StartDedicatedAsync();
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["CACHE_LRU_REDIS_HOST"] = "127.0.0.1",
            ["CACHE_LRU_REDIS_PORT"] = server.Port.ToString(),
        });
        var client = registry.Client;
        var first = V1Client.NewImageId();
        var second = V1Client.NewImageId();
        var firstJson = await client.PushImageAsync(first, V1Client.RandomBytes(10));
        await client.PushImageAsync(second, V1Client.RandomBytes(10));
        (await client.PutTagAsync("library/app", "latest", first).ReadAsync()).Status.Should().Be(200);
        await WaitForAsync(async () =>
        {
            await client.GetAsync($"/v1/images/{first}/json");
            return (await server.CommandAsync("KEYS", $"registry:files:*:d:images/{first}/json")).Length > 0;
        });

        await server.StopAsync();
        for (var i = 0; i < 10; i++)
        {
            (await client.GetAsync($"/v1/images/{first}/json").ReadAsync()).Should().Be((200, firstJson));
            (await client.GetAsync("/v1/repositories/library/app/tags/latest").ReadAsync()).Should().Be((200, $"\"{first}\""));
        }
        (await client.PutTagAsync("library/app", "latest", second).ReadAsync()).Status.Should().Be(200);
        (await client.GetAsync("/v1/repositories/library/app/tags/latest").ReadAsync()).Should().Be((200, $"\"{second}\""));
        Lines(registry.Output, "does not answer").Should().ContainSingle().Which.Should().Contain(
            $"warn: Registry.Core.Storage.Caching.RedisFileCache[0] Redis file cache (cache_lru) at redis 127.0.0.1:{server.Port} db 0 does not answer");

        await server.RestartAsync();
        await WaitForAsync(async () =>
        {
            (await client.GetAsync("/v1/repositories/library/app/tags/latest").ReadAsync()).Should().Be((200, $"\"{second}\""));
            return (await server.CommandAsync("KEYS", "registry:files:*:d:repositories/library/app/tag_latest")).Length > 0;
        });
        (await client.GetAsync("/v1/repositories/library/app/tags/latest").ReadAsync()).Should().Be((200, $"\"{second}\""));
        (await client.GetAsync($"/v1/images/{first}/json").ReadAsync()).Should().Be((200, firstJson));
        Lines(registry.Output, "does not answer").Should().ContainSingle();
        Lines(registry.Output, "answers again").Should().ContainSingle();
        registry.Output.Should().NotContain("fail:").And.NotContain(" 500 ");
    }

    [Test]
    public async Task The_cache_section_alone_gives_a_shared_connection_and_caches_no_files()
    {
        var server = await RedisServer.SharedAsync();
        var database = await server.NewDatabaseAsync();
        await using var registry = TestRegistry.Start(new Dictionary<string, string>
        {
            ["CACHE_REDIS_HOST"] = "127.0.0.1",
            ["CACHE_REDIS_PORT"] = server.Port.ToString(),
            ["CACHE_REDIS_DB"] = database.ToString(),
        });
        var redis = (IRedisConnection)registry.Services.GetService(typeof(IRedisConnection))!;
        registry.Storage.Should().NotBeOfType<CachingStorageDriver>();

        await WaitForAsync(() => Task.FromResult(redis.Database is not null));
        await redis.Database!.StringSetAsync("shared", "yes");
        (await server.CommandAsync("SELECT", database.ToString(), "GET", "shared")).Should().Be("yes");
        redis.Describe.Should().Be($"redis 127.0.0.1:{server.Port} db {database}");
    }

    [Test]
    public async Task Cache_and_cache_lru_on_the_same_server_and_database_share_one_connection()
    {
        await using var server = await RedisServer.StartDedicatedAsync();
        var cacheOnly = new Dictionary<string, string>
        {
            ["CACHE_REDIS_HOST"] = "127.0.0.1",
            ["CACHE_REDIS_PORT"] = server.Port.ToString(),
        };
        await using var first = TestRegistry.Start(cacheOnly);
        var redis = (IRedisConnection)first.Services.GetService(typeof(IRedisConnection))!;
        await WaitForAsync(() => Task.FromResult(redis.Database is not null));
        var alone = await ClientsAsync(server);
        alone.Should().BePositive();
        var both = new Dictionary<string, string>(cacheOnly)
        {
            ["CACHE_LRU_REDIS_HOST"] = "127.0.0.1",
            ["CACHE_LRU_REDIS_PORT"] = server.Port.ToString(),
        };

        await using var shared = TestRegistry.Start(both);
        await WaitActiveAsync(shared, $"/v1/images/{V1Client.NewImageId()}/json");
        var connection = (IRedisConnection)shared.Services.GetService(typeof(IRedisConnection))!;
        await WaitForAsync(() => Task.FromResult(connection.Database is not null));

        (await ClientsAsync(server)).Should().Be(2 * alone, "the second registry opens as many connections as one with cache: only");
    }

    // The registry names its connections "docker-registry"; the test's own CLIENT LIST connection has no name.
    private static async Task<int> ClientsAsync(RedisServer server) =>
        (await server.CommandAsync("CLIENT", "LIST")).Split('\n').Count(l => l.Contains("name=docker-registry", StringComparison.Ordinal));

    internal static Dictionary<string, string> LruEnvironment(RedisServer server, int database) => new()
    {
        ["CACHE_LRU_REDIS_HOST"] = "127.0.0.1",
        ["CACHE_LRU_REDIS_PORT"] = server.Port.ToString(),
        ["CACHE_LRU_REDIS_DB"] = database.ToString(),
    };

    /// <summary>Reads through the app until its file cache is in use (it connects in the background), bounded.</summary>
    internal static Task WaitActiveAsync(TestRegistry registry, string path) =>
        WaitForAsync(async () =>
        {
            using var response = await registry.Client.GetAsync(path);
            return ((CachingStorageDriver)registry.Storage).Cache.IsActive;
        });

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + WaitTimeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"not true within {WaitTimeout.TotalSeconds} s");
            await Task.Delay(100);
        }
    }

    private static List<string> Lines(string output, string containing) =>
        output.Split('\n').Where(l => l.Contains(containing, StringComparison.Ordinal)).ToList();
}
