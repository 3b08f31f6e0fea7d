using FluentAssertions;
using Microsoft.AspNetCore.Mvc.Testing;
using NUnit.Framework;

namespace Registry.Tests;

public class SmokeTests
{
    [Test]
    public async Task Ping_answers_200()
    {
        await using var factory = new WebApplicationFactory<Program>();
        using var client = factory.CreateClient();
        var response = await client.GetAsync("/v1/_ping");
        ((int)response.StatusCode).Should().Be(200);
    }
}
