using System.Net;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Reliability;

/// <summary>Requests the fuzz test found answered 500, pinned as exact regressions.</summary>
[Category("e2e")]
public class FuzzFindingsTests
{
    private RegistryProcess _server = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _server = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["LOGLEVEL"] = "warn" });

    [OneTimeTearDown]
    public async Task StopAsync() => await _server.DisposeAsync();

    [TestCase("/v1/search?q=%00")]
    [TestCase("/v1/search?q=fuzz%00x&n=5")]
    public async Task Search_term_with_a_NUL_answers_400(string path)
    {
        var (status, body) = await _server.Client.GetAsync(path).ReadAsync();
        (status, body).Should().Be((400, "{\"error\": \"Search term must not contain NUL characters\"}"));
    }

    [TestCase("/v1/repositories/fuzz/base/tags/latest", "\"\\ud800\"", "Invalid data")]
    [TestCase("/v1/repositories/fuzz/base/properties", "{\"description\": \"a\\udc00b\"}", "Invalid data")]
    [TestCase("/v1/images/{id}/json", "{\"id\": \"{id}\", \"comment\": \"\\ud83d\"}", "Invalid JSON")]
    public async Task Json_string_escaping_a_lone_surrogate_answers_400(string path, string body, string message)
    {
        var id = V1Client.NewImageId();
        var (status, answer) = await _server.Client.PutAsync(path.Replace("{id}", id), new StringContent(body.Replace("{id}", id))).ReadAsync();
        (status, answer).Should().Be((400, $"{{\"error\": \"{message}\"}}"));
    }

    [Test]
    public async Task Chunk_size_that_overflows_answers_400()
    {
        var answer = await SendAsync(
            "PUT /v1/repositories/fuzz/base HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n");
        answer.Should().StartWith("HTTP/1.1 400 Bad Request\r\n");
        answer.Should().EndWith("\r\n\r\n{\"error\": \"Bad request: Bad chunk size data.\"}");
        (await _server.Client.GetAsync("/v1/_ping").ReadAsync()).Status.Should().Be(200);
    }

    private async Task<string> SendAsync(string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _server.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        return Encoding.UTF8.GetString(received.ToArray());
    }
}
