using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Core.Redis;
using Registry.Core.Storage;
using Registry.Core.Storage.Caching;
using Registry.Tests.Support;

namespace Registry.Tests.Caching;

/// <summary>
/// The file cache (<c>cache_lru</c>) on a real Redis and a real file storage: two "instances" are two caching drivers
/// with connections of their own over the same storage folder and Redis database, as two registry processes are.
/// </summary>
[TestFixture]
public sealed class FileCacheTests
{
    private const string Tag = "repositories/library/app/tag_latest";
    private const string WarmUpPath = "images/warm-up/json";
    private static readonly TimeSpan ActiveTimeout = TimeSpan.FromSeconds(15);

    private TempDirectory _root = null!;
    private FileSystemStorageDriver _storage = null!;
    private readonly List<IDisposable> _drivers = [];
    private string _namespace = "";

    [SetUp]
    public void SetUp()
    {
        _root = new TempDirectory();
        _storage = new FileSystemStorageDriver(_root.Path);
        _namespace = RedisServer.NewKeyPrefix("files");
    }

    [TearDown]
    public void TearDown()
    {
        foreach (var driver in _drivers) driver.Dispose();
        _drivers.Clear();
        _root.Dispose();
    }

    [Test]
    public async Task A_read_fills_the_cache_and_the_next_read_is_served_from_redis()
    {
        var server = await RedisServer.SharedAsync();
        var (driver, _) = await InstanceAsync(server, await server.NewDatabaseAsync());
        await driver.PutContentAsync(Tag, Bytes("aaaa"), CancellationToken.None);

        (await Text(driver, Tag)).Should().Be("aaaa");
        // Behind the cache's back, as no registry instance would: what the driver answers now can only come from Redis.
        await _storage.PutContentAsync(Tag, Bytes("bbbb"), CancellationToken.None);

        (await Text(driver, Tag)).Should().Be("aaaa");
        (await driver.ExistsAsync(Tag, CancellationToken.None)).Should().BeTrue();
        (await driver.SizeAsync(Tag, CancellationToken.None)).Should().Be(4);
        await using var stream = await driver.OpenReadAsync(Tag, 1, CancellationToken.None);
        (await new StreamReader(stream!).ReadToEndAsync()).Should().Be("aaa");
    }

    [Test]
    public async Task Absence_is_cached_and_a_write_through_the_cache_replaces_it()
    {
        var server = await RedisServer.SharedAsync();
        var database = await server.NewDatabaseAsync();
        var (a, _) = await InstanceAsync(server, database);
        var (b, _) = await InstanceAsync(server, database);
        const string json = "images/abc/json";

        (await b.GetContentAsync(json, CancellationToken.None)).Should().BeNull();
        (await server.CommandAsync("SELECT", database.ToString(), "GET", $"{_namespace}0:d:{json}")).Should().Be("A");
        (await b.ExistsAsync(json, CancellationToken.None)).Should().BeFalse();

        await a.PutContentAsync(json, Bytes("{\"id\":\"abc\"}"), CancellationToken.None);

        (await Text(b, json)).Should().Be("{\"id\":\"abc\"}");
        (await server.CommandAsync("SELECT", database.ToString(), "GET", $"{_namespace}0:d:{json}")).Should().Be("C{\"id\":\"abc\"}");
    }

    [Test]
    public async Task Layer_bytes_and_large_files_are_never_in_redis_but_a_layer_size_is()
    {
        var server = await RedisServer.SharedAsync();
        var database = await server.NewDatabaseAsync();
        var (driver, _) = await InstanceAsync(server, database);
        const string layer = "images/abc/layer";
        const string ancestry = "images/abc/ancestry";
        await driver.WriteStreamAsync(layer, new MemoryStream(Bytes("layer bytes")), CancellationToken.None);
        await driver.PutContentAsync(ancestry, new byte[CachePaths.MaxFileBytes + 1], CancellationToken.None);

        (await driver.GetContentAsync(layer, CancellationToken.None)).Should().Equal(Bytes("layer bytes"));
        (await driver.GetContentAsync(ancestry, CancellationToken.None))!.Length.Should().Be(CachePaths.MaxFileBytes + 1);

        (await server.CommandAsync("SELECT", database.ToString(), "KEYS", $"{_namespace}*:d:images/abc/*")).Should().BeEmpty();
        // Only the warm-up read's absence may be cached, and only when the cache was already active at that read.
        (await server.CommandAsync("SELECT", database.ToString(), "KEYS", $"{_namespace}*:d:*")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Should().BeSubsetOf([$"{_namespace}0:d:{WarmUpPath}"]);

        (await driver.SizeAsync(layer, CancellationToken.None)).Should().Be(11);
        (await server.CommandAsync("SELECT", database.ToString(), "GET", $"{_namespace}0:d:{layer}")).Should().Be("S11");
        (await driver.ExistsAsync(layer, CancellationToken.None)).Should().BeTrue();
        await driver.WriteStreamAsync(layer, new MemoryStream(Bytes("longer layer bytes")), CancellationToken.None);
        (await driver.SizeAsync(layer, CancellationToken.None)).Should().Be(18);
        (await driver.DeleteAsync(layer, CancellationToken.None)).Should().BeTrue();
        (await driver.ExistsAsync(layer, CancellationToken.None)).Should().BeFalse();
        (await server.CommandAsync("SELECT", database.ToString(), "GET", $"{_namespace}0:d:{layer}")).Should().Be("A");
    }

    [Test]
    public async Task Deleting_a_repository_folder_drops_its_cached_files_on_every_instance()
    {
        var server = await RedisServer.SharedAsync();
        var database = await server.NewDatabaseAsync();
        var (a, _) = await InstanceAsync(server, database);
        var (b, _) = await InstanceAsync(server, database);
        await a.PutContentAsync(Tag, Bytes("id1"), CancellationToken.None);
        (await Text(b, Tag)).Should().Be("id1");

        (await a.DeleteAsync("repositories/library/app", CancellationToken.None)).Should().BeTrue();

        (await b.GetContentAsync(Tag, CancellationToken.None)).Should().BeNull();
        (await b.ExistsAsync(Tag, CancellationToken.None)).Should().BeFalse();
        (await server.CommandAsync("SELECT", database.ToString(), "GET", $"{_namespace}gen")).Should().Be("1");
    }

    [Test]
    public async Task A_writer_that_dies_between_its_marks_leaves_the_file_uncached_not_stale()
    {
        var server = await RedisServer.SharedAsync();
        var database = await server.NewDatabaseAsync();
        var (a, cacheA) = await InstanceAsync(server, database);
        var (b, _) = await InstanceAsync(server, database);
        await a.PutContentAsync(Tag, Bytes("old"), CancellationToken.None);
        (await Text(b, Tag)).Should().Be("old");

        // The first half of a write, then the storage write, then nothing: the process was killed.
        await cacheA.BeginWriteAsync(Tag);
        await _storage.PutContentAsync(Tag, Bytes("new"), CancellationToken.None);

        (await Text(b, Tag)).Should().Be("new");
        (await Text(b, Tag)).Should().Be("new");
        (await server.CommandAsync("SELECT", database.ToString(), "EXISTS", $"{_namespace}0:d:{Tag}")).Should().Be("0");
    }

    [Test]
    public async Task Reads_racing_writes_on_two_instances_never_go_back_to_an_older_value()
    {
        var server = await RedisServer.SharedAsync();
        var database = await server.NewDatabaseAsync();
        var (writer, _) = await InstanceAsync(server, database);
        var (reader, _) = await InstanceAsync(server, database);
        await writer.PutContentAsync(Tag, Bytes("0"), CancellationToken.None);
        const int writes = 200;
        var acknowledged = 0;
        var violations = new List<string>();
        using var done = new CancellationTokenSource();

        async Task ReadLoopAsync()
        {
            while (!done.IsCancellationRequested)
            {
                var floor = Volatile.Read(ref acknowledged);
                var seen = int.Parse(await Text(reader, Tag));
                if (seen < floor) lock (violations) violations.Add($"read {seen} after write {floor} was acknowledged");
            }
        }

        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(ReadLoopAsync)).ToList();
        for (var i = 1; i <= writes; i++)
        {
            await writer.PutContentAsync(Tag, Bytes(i.ToString()), CancellationToken.None);
            Volatile.Write(ref acknowledged, i);
        }
        await done.CancelAsync();
        await Task.WhenAll(readers);

        violations.Should().BeEmpty();
        (await Text(reader, Tag)).Should().Be(writes.ToString());
        (await Text(writer, Tag)).Should().Be(writes.ToString());
    }

    [Test]
    public async Task Concurrent_writers_on_two_instances_leave_redis_agreeing_with_storage()
    {
        var server = await RedisServer.SharedAsync();
        var database = await server.NewDatabaseAsync();
        var (a, _) = await InstanceAsync(server, database);
        var (b, _) = await InstanceAsync(server, database);

        for (var round = 0; round < 30; round++)
        {
            await Task.WhenAll(
                Task.Run(() => a.PutContentAsync(Tag, Bytes($"a{round}"), CancellationToken.None)),
                Task.Run(() => b.PutContentAsync(Tag, Bytes($"b{round}"), CancellationToken.None)),
                Task.Run(() => a.GetContentAsync(Tag, CancellationToken.None)),
                Task.Run(() => b.GetContentAsync(Tag, CancellationToken.None)));
            var stored = Encoding.UTF8.GetString((await _storage.GetContentAsync(Tag, CancellationToken.None))!);

            (await Text(a, Tag)).Should().Be(stored, $"round {round}");
            (await Text(b, Tag)).Should().Be(stored, $"round {round}");
        }
    }

    [Test]
    public async Task Writes_while_redis_is_unreachable_are_not_hidden_by_the_keys_it_kept()
    {
        await using var server = await RedisServer.StartDedicatedAsync();
        var logs = new ListLogger();
        var (driver, cache) = await InstanceAsync(server, 0, logs);
        await driver.PutContentAsync(Tag, Bytes("before"), CancellationToken.None);
        (await Text(driver, Tag)).Should().Be("before");
        (await server.CommandAsync("GET", $"{_namespace}0:d:{Tag}")).Should().Be("Cbefore");

        server.Pause();
        try
        {
            // Each answer comes from storage, within Redis's command timeout; the write does not reach Redis.
            (await Text(driver, Tag)).Should().Be("before");
            await driver.PutContentAsync(Tag, Bytes("during"), CancellationToken.None);
            (await Text(driver, Tag)).Should().Be("during");
            cache.IsActive.Should().BeFalse();
        }
        finally
        {
            server.Resume();
        }
        // Redis still holds "before", which is stale now.
        (await server.CommandAsync("GET", $"{_namespace}0:d:{Tag}")).Should().Be("Cbefore");

        await WaitActiveAsync(driver, cache);
        (await Text(driver, Tag)).Should().Be("during");
        (await Text(driver, Tag)).Should().Be("during");
        (await server.CommandAsync("GET", $"{_namespace}1:d:{Tag}")).Should().Be("Cduring");
        logs.Warnings.Should().ContainSingle().Which.Should().StartWith($"Redis file cache at redis 127.0.0.1:{server.Port} db 0 does not answer");
        logs.Information.Should().Contain($"Redis file cache at redis 127.0.0.1:{server.Port} db 0 answers again");
    }

    [Test]
    public async Task A_redis_that_never_answers_leaves_every_operation_to_storage()
    {
        var logs = new ListLogger();
        var (driver, cache) = Instance(new RedisSettings("127.0.0.1", FreePort.Next(), 0, null), logs);

        await driver.PutContentAsync(Tag, Bytes("x"), CancellationToken.None);
        for (var i = 0; i < 5; i++) (await Text(driver, Tag)).Should().Be("x");
        (await driver.DeleteAsync("repositories/library", CancellationToken.None)).Should().BeTrue();
        (await driver.GetContentAsync(Tag, CancellationToken.None)).Should().BeNull();

        cache.IsActive.Should().BeFalse();
        await WaitForAsync(() => logs.Warnings.Count > 0);
        logs.Warnings.Should().ContainSingle();
    }

    private async Task<(CachingStorageDriver Driver, RedisFileCache Cache)> InstanceAsync(RedisServer server, int database, ListLogger? logs = null)
    {
        var instance = Instance(new RedisSettings("127.0.0.1", server.Port, database, null), logs ?? new ListLogger());
        await WaitActiveAsync(instance.Driver, instance.Cache);
        return instance;
    }

    private (CachingStorageDriver Driver, RedisFileCache Cache) Instance(RedisSettings settings, ListLogger logs)
    {
        var cache = new RedisFileCache(new RedisConnection(settings, "file cache", logs), _namespace, TimeSpan.FromMinutes(5), logs);
        var driver = new CachingStorageDriver(_storage, cache);
        _drivers.Add(driver);
        return (driver, cache);
    }

    /// <summary>Reads until the cache is in use (it connects in the background), bounded.</summary>
    private static Task WaitActiveAsync(CachingStorageDriver driver, RedisFileCache cache) =>
        WaitForAsync(async () =>
        {
            await driver.GetContentAsync(WarmUpPath, CancellationToken.None);
            return cache.IsActive;
        });

    private static Task WaitForAsync(Func<bool> condition) => WaitForAsync(() => Task.FromResult(condition()));

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + ActiveTimeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"not true within {ActiveTimeout.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static async Task<string> Text(IStorageDriver driver, string path) =>
        Encoding.UTF8.GetString(await driver.GetContentAsync(path, CancellationToken.None) ?? throw new AssertionException($"{path} is absent"));
}

/// <summary>Keeps what a component logged, by level, for assertions on warnings.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly List<(LogLevel Level, string Message)> _entries = [];

    public List<string> Warnings => Of(LogLevel.Warning);

    public List<string> Information => Of(LogLevel.Information);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries) _entries.Add((logLevel, formatter(state, exception)));
    }

    private List<string> Of(LogLevel level)
    {
        lock (_entries) return _entries.Where(e => e.Level == level).Select(e => e.Message).ToList();
    }
}
