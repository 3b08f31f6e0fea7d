using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V1;

public class PingTests
{
    [TestCase("/_ping")]
    [TestCase("/v1/_ping")]
    public async Task Ping_answers_standalone_with_no_cache_headers(string path)
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["DEBUG"] = "false" });
        using var response = await registry.Client.GetAsync(path);

        ((int)response.StatusCode).Should().Be(200);
        (await response.Content.ReadAsStringAsync()).Should().Be("{}");
        response.Header("X-Docker-Registry-Standalone").Should().Be("True");
        response.Header("X-Docker-Registry-Config").Should().BeNull();
        response.Header("Content-Type").Should().Be("application/json");
        response.Header("Cache-Control").Should().Be("no-cache");
        response.Header("Pragma").Should().Be("no-cache");
        response.Header("Expires").Should().Be("-1");
    }

    [Test]
    public async Task Debug_ping_names_the_flavor_and_describes_the_host()
    {
        await using var registry = TestRegistry.Start();
        using var response = await registry.Client.GetAsync("/v1/_ping");

        response.Header("X-Docker-Registry-Config").Should().Be("dev");
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        body.Select(p => p.Key).Should().Equal("host", "launch", "versions");
    }

    [Test]
    public async Task Non_standalone_ping_says_False()
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["STANDALONE"] = "false" });
        using var response = await registry.Client.GetAsync("/v1/_ping");
        response.Header("X-Docker-Registry-Standalone").Should().Be("False");
    }

    [Test]
    public async Task Root_answers_the_issue_setting_as_a_json_string()
    {
        await using var registry = TestRegistry.Start();
        var (status, body) = await registry.Client.GetAsync("/").ReadAsync();
        status.Should().Be(200);
        body.Should().Be("\"\\\"docker-registry server\\\"\"");
    }

    [Test]
    public async Task Unsupported_method_answers_405_with_allow_and_a_json_body()
    {
        await using var registry = TestRegistry.Start();
        using var response = await registry.Client.PostAsync("/v1/_ping", null);
        ((int)response.StatusCode).Should().Be(405);
        response.Content.Headers.Allow.Should().Contain("GET");
        (await response.Content.ReadAsStringAsync()).Should().Be("{\"error\": \"Method not allowed\"}");
    }
}
