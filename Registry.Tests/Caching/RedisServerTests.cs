using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Caching;

/// <summary>The test harness's Redis server: reachable, without persistence, stoppable and restartable on its port.</summary>
[TestFixture]
public sealed class RedisServerTests
{
    [Test]
    public async Task Shared_server_stores_values_and_keeps_tests_apart_by_database()
    {
        var server = await RedisServer.SharedAsync();
        var first = await server.NewDatabaseAsync();
        var second = await server.NewDatabaseAsync();
        first.Should().NotBe(second).And.BeInRange(1, RedisServer.Databases - 1);

        (await server.CommandAsync("SELECT", first.ToString(), "SET", "k", "line one\r\nline two")).Should().Be("OK");
        (await server.CommandAsync("SELECT", first.ToString(), "GET", "k")).Should().Be("line one\r\nline two");
        (await server.CommandAsync("SELECT", second.ToString(), "EXISTS", "k")).Should().Be("0");
        (await server.CommandAsync("CONFIG", "GET", "save")).Should().Be("save\n");
        (await server.CommandAsync("CONFIG", "GET", "appendonly")).Should().Be("appendonly\nno");
        (await server.CommandAsync("CONFIG", "GET", "bind")).Should().Be("bind\n127.0.0.1");
        RedisServer.NewKeyPrefix("x").Should().NotBe(RedisServer.NewKeyPrefix("x"));
    }

    [Test]
    public async Task Dedicated_server_stops_and_restarts_empty_on_the_same_port()
    {
        await using var server = await RedisServer.StartDedicatedAsync();
        var port = server.Port;
        (await server.CommandAsync("SET", "k", "v")).Should().Be("OK");

        await server.StopAsync();
        server.IsRunning.Should().BeFalse();
        var refused = async () => await server.CommandAsync("PING");
        await refused.Should().ThrowAsync<System.Net.Sockets.SocketException>();

        await server.RestartAsync();
        server.IsRunning.Should().BeTrue();
        server.Port.Should().Be(port);
        (await server.CommandAsync("EXISTS", "k")).Should().Be("0");
    }
}
