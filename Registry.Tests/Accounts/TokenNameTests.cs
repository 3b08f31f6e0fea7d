using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Accounts;

/// <summary>Repository names in token headers: any name round-trips, and a header never carries a byte it may not.</summary>
public class TokenNameTests
{
    [TestCase("library/demo", "library/demo")]
    [TestCase("ns/a%2Fb", "ns/a%252Fb")]
    [TestCase("\U0001F433/x", "%F0%9F%90%B3/x")]
    [TestCase("ns/a\"b,c d", "ns/a%22b%2Cc%20d")]
    [TestCase("ns/\u0001", "ns/%01")]
    public void Names_are_escaped_for_the_header_and_come_back_unchanged(string name, string wire)
    {
        ParsedToken.EncodeName(name).Should().Be(wire);
        ParsedToken.DecodeName(wire).Should().Be(name);
    }

    [TestCase("ns/%zz")]
    [TestCase("ns/%4")]
    [TestCase("ns/%FF")]
    [TestCase("ns/\u00e9")]
    public void Malformed_wire_names_are_not_tokens(string wire)
    {
        ParsedToken.DecodeName(wire).Should().BeNull();
        ParsedToken.Parse($"Token signature=x,repository=\"{wire}\",access=read,expires=1").Should().BeNull();
    }

    [Test]
    public async Task A_non_ascii_repository_gets_a_usable_token_header_instead_of_a_500()
    {
        await using var registry = TestRegistry.Start();
        var request = new HttpRequestMessage(HttpMethod.Put, "/v1/repositories/%F0%9F%90%B3/app/")
        {
            Content = new StringContent("[]", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Docker-Token", "true");
        using var response = await registry.Client.SendAsync(request);

        ((int)response.StatusCode).Should().Be(200);
        var token = response.Header("X-Docker-Token")!;
        token.Should().Contain("repository=\"%F0%9F%90%B3/app\"");
    }
}
