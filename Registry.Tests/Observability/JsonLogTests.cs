using System.Net;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Observability;

/// <summary><c>LOG_FORMAT=json</c>: every line the server writes is one JSON object, the request id a field of the request's lines.</summary>
[TestFixture]
public sealed class JsonLogTests
{
    [Test]
    public async Task Every_line_is_json_with_the_request_id_in_state_and_scope()
    {
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["LOG_FORMAT"] = "json" });
        using var ping = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { { "X-Request-Id", "json-req-1" } } };
        (await registry.Client.SendAsync(ping)).StatusCode.Should().Be(HttpStatusCode.OK);
        var id = V1Client.NewImageId();
        using var put = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/json")
        {
            Headers = { { "X-Request-Id", "json-req-2" } },
            Content = new StringContent(V1Client.ImageJson(id), Encoding.UTF8, "application/json"),
        };
        (await registry.Client.SendAsync(put)).StatusCode.Should().Be(HttpStatusCode.OK);

        var requestLine = await LogCapture.WaitForLineAsync(registry, l => l.Contains("RequestLogMiddleware") && l.Contains("json-req-1"));
        var auditLine = await LogCapture.WaitForLineAsync(registry, l => l.Contains("Registry.Audit") && l.Contains("json-req-2"));

        var lines = LogCapture.Lines(registry).Where(l => l.Length > 0).ToList();
        lines.Should().Contain(l => l.Contains("Starting flavor"));
        foreach (var line in lines)
        {
            using var parsed = JsonDocument.Parse(line);
            parsed.RootElement.GetProperty("Category").GetString().Should().NotBeNullOrEmpty();
            parsed.RootElement.GetProperty("Timestamp").GetString().Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$");
        }

        using var request = JsonDocument.Parse(requestLine);
        request.RootElement.GetProperty("State").GetProperty("RequestId").GetString().Should().Be("json-req-1");
        request.RootElement.GetProperty("State").GetProperty("Status").GetInt32().Should().Be(200);
        request.RootElement.GetProperty("Scopes").EnumerateArray()
            .Where(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("RequestId", out _))
            .Select(s => s.GetProperty("RequestId").GetString()).Should().Equal("json-req-1");

        using var audit = JsonDocument.Parse(auditLine);
        var state = audit.RootElement.GetProperty("State");
        state.GetProperty("Action").GetString().Should().Be("PUT /v1/images/{imageId}/json");
        state.GetProperty("User").GetString().Should().Be("-");
        state.GetProperty("Client").GetString().Should().Be("127.0.0.1");
        state.GetProperty("Reference").GetString().Should().Be(id);
        state.GetProperty("Status").GetInt32().Should().Be(200);
        state.GetProperty("RequestId").GetString().Should().Be("json-req-2");
    }
}
