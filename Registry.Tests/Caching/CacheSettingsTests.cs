using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Caching;

/// <summary>The <c>cache:</c> and <c>cache_lru:</c> sections: defaults, the environment variables, and one line per bad value.</summary>
[TestFixture]
public sealed class CacheSettingsTests : ConfigTestBase
{
    [Test]
    public void Both_sections_are_off_by_default()
    {
        var cache = LoadSample().Cache;

        cache.Redis.Should().BeNull();
        cache.Lru.Should().BeNull();
        cache.Describe().Should().Be("off");
    }

    [Test]
    public void The_sample_reads_host_port_db_password_and_ttl_from_the_environment()
    {
        var cache = LoadSample(("CACHE_REDIS_HOST", "redis.local"), ("CACHE_LRU_REDIS_HOST", "lru.local"), ("CACHE_LRU_REDIS_PORT", "6380"),
            ("CACHE_LRU_REDIS_DB", "3"), ("CACHE_LRU_REDIS_PASSWORD", "s3cret"), ("CACHE_LRU_TTL_SECONDS", "30")).Cache;

        cache.Redis.Should().Be(new RedisSettings("redis.local", 6379, 0, null));
        cache.Lru.Should().Be(new RedisSettings("lru.local", 6380, 3, "s3cret"));
        cache.LruTtl.Should().Be(TimeSpan.FromSeconds(30));
        cache.Describe().Should().Be("redis redis.local:6379 db 0, small files in redis lru.local:6380 db 3 (ttl 30 s)");
    }

    [Test]
    public void The_cache_section_alone_says_that_files_are_not_cached()
    {
        LoadSample(("CACHE_REDIS_HOST", "redis.local")).Cache.Describe()
            .Should().Be("redis redis.local:6379 db 0 (small files not cached: cache_lru.host is unset)");
    }

    [TestCase("CACHE_LRU_REDIS_PORT", "70000", "cache_lru.port", "expected an integer from 1 to 65535, got the integer 70000")]
    [TestCase("CACHE_LRU_REDIS_PORT", "redis", "cache_lru.port", "expected an integer from 1 to 65535, got the string \"redis\"")]
    [TestCase("CACHE_LRU_REDIS_DB", "-1", "cache_lru.db", "expected an integer from 0 to 2147483647, got the integer -1")]
    [TestCase("CACHE_LRU_TTL_SECONDS", "0", "cache_lru.ttl_seconds", "expected an integer from 1 to 2147483, got the integer 0")]
    public void A_bad_value_names_the_key_and_its_variable(string variable, string value, string key, string problem)
    {
        var load = () => LoadSample(("CACHE_LRU_REDIS_HOST", "lru.local"), (variable, value));

        load.Should().Throw<ConfigException>().Which.Message.Should().Be(
            SampleError(key, variable, value, problem));
    }

    [Test]
    public void A_section_written_as_a_scalar_is_an_error()
    {
        var load = () => LoadFlavor("dev:\n  cache: redis\n", "dev");

        load.Should().Throw<ConfigException>().Which.Message.Should().Contain("key \"cache\"").And.Contain("expected a map of settings");
    }

    private static readonly string ServerSampleFile = Path.Combine(Path.GetDirectoryName(typeof(Program).Assembly.Location)!, "config_sample.yml");

    [Test]
    public async Task A_bad_port_stops_start_up_with_one_line()
    {
        var result = await RegistryProcess.RunOnceAsync(
            Env(("CACHE_REDIS_HOST", "127.0.0.1"), ("CACHE_REDIS_PORT", "0")), "--urls", "http://127.0.0.1:0");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Be(
            $"config error in {ServerSampleFile}, flavor \"dev\", key \"cache.port\" (from $CACHE_REDIS_PORT=\"0\"): expected an integer from 1 to 65535, got the integer 0\n");
    }

    [Test]
    public async Task Start_up_says_where_the_cache_is_even_while_redis_is_down()
    {
        var port = FreePort.Next();
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["CACHE_LRU_REDIS_HOST"] = "127.0.0.1",
            ["CACHE_LRU_REDIS_PORT"] = port.ToString(),
        });

        (await registry.Client.GetAsync("/v1/_ping")).StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
        registry.Output.Should().Contain($"cache small files in redis 127.0.0.1:{port} db 0 (ttl 600 s), listen");
        registry.Output.Split('\n').Where(l => l.Contains("does not answer", StringComparison.Ordinal)).Should().ContainSingle();
    }
}
