using System.Net;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Observability;

/// <summary><c>X-Request-Id</c>: a sane client id is kept and echoed, anything else is replaced by a fresh one.</summary>
[TestFixture]
public sealed class RequestIdTests
{
    private TestRegistry _registry = null!;

    [OneTimeSetUp]
    public void Start() => _registry = TestRegistry.Start();

    [OneTimeTearDown]
    public async Task StopAsync() => await _registry.DisposeAsync();

    [TestCase("abc-123")]
    [TestCase("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public async Task A_sane_client_id_is_echoed(string id)
    {
        using var response = await _registry.Client.SendAsync(HttpMethod.Get, "/v2/", ("X-Request-Id", id));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("X-Request-Id").Should().Equal(id);
    }

    [TestCase("")]
    [TestCase("has space")]
    [TestCase("tab\there")]
    [TestCase("non-ascii-é")]
    [TestCase("x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public async Task Anything_else_is_replaced_by_a_generated_id(string id)
    {
        using var response = await _registry.Client.SendAsync(HttpMethod.Get, "/v2/", ("X-Request-Id", id));

        var echoed = response.Headers.GetValues("X-Request-Id").Single();
        echoed.Should().MatchRegex("^[0-9a-f]{32}$");
    }

    [Test]
    public async Task Every_response_gets_its_own_id_errors_included()
    {
        using var first = await _registry.Client.GetAsync("/v2/");
        using var second = await _registry.Client.GetAsync("/v2/");
        using var notFound = await _registry.Client.GetAsync("/no/such/route");
        using var v2Error = await _registry.Client.GetAsync("/v2/team/app/manifests/missing");

        var ids = new[] { first, second, notFound, v2Error }.Select(r => r.Headers.GetValues("X-Request-Id").Single()).ToList();
        ids.Should().OnlyContain(id => System.Text.RegularExpressions.Regex.IsMatch(id, "^[0-9a-f]{32}$"));
        ids.Should().OnlyHaveUniqueItems();
        notFound.StatusCode.Should().Be(HttpStatusCode.NotFound);
        v2Error.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }
}
