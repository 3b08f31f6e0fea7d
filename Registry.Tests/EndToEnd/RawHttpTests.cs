using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// Requests only a real Kestrel sees as the client wrote them: raw percent-encoding, empty headers,
/// malformed framing. The in-process test server normalises these away.
/// </summary>
[Category("e2e")]
public class RawHttpTests
{
    private RegistryProcess _server = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _server = await RegistryProcess.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _server.DisposeAsync();

    private async Task<(int Status, string Head, string Body)> SendAsync(string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", _server.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request));
        using var reader = new MemoryStream();
        var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await stream.CopyToAsync(reader, cts.Token);
        var text = Encoding.UTF8.GetString(reader.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = text[..split];
        return (int.Parse(head.Split(' ')[1]), head, text[(split + 4)..]);
    }

    private static string Put(string path, string body, string extraHeaders = "") =>
        $"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n{extraHeaders}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";

    private static string Get(string path) => $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

    private async Task<string> PushImageAsync()
    {
        var id = V1Client.NewImageId();
        await _server.Client.PushImageAsync(id, [1, 2, 3]);
        return id;
    }

    [Test]
    public async Task Encoded_slash_is_a_separator_and_double_encoding_is_kept_literally()
    {
        var id = await PushImageAsync();
        (await SendAsync(Put("/v1/repositories/rawns%2Frepo/tags/latest", $"\"{id}\""))).Status.Should().Be(200);
        (await SendAsync(Get("/v1/repositories/rawns/repo/tags/latest"))).Body.Should().Be($"\"{id}\"");

        (await SendAsync(Put("/v1/repositories/rawns%252Frepo/tags/latest", $"\"{id}\""))).Status.Should().Be(200);
        Directory.Exists(Path.Combine(_server.StoragePath, "repositories/library/rawns%25252Frepo")).Should().BeTrue();
        (await SendAsync(Get("/v1/repositories/rawns%252Frepo/tags"))).Body.Should().Be($"{{\"latest\": \"{id}\"}}");
    }

    [TestCase("/v1/repositories/%2E%2E/%2E%2E/tags/latest")]
    [TestCase("/v1/repositories/../../tags/latest")]
    [TestCase("/v1/repositories/ns/%2E%2E%2F%2E%2E%2F%2E%2E/tags/latest")]
    [TestCase("/v1/repositories/%2F%2F/x/tags/latest")]
    public async Task Traversal_attempts_never_write_outside_storage(string path)
    {
        var id = await PushImageAsync();
        var (status, _, _) = await SendAsync(Put(path, $"\"{id}\""));
        status.Should().BeInRange(200, 499);
        var outside = Directory.GetFiles(_server.RootDirectory, "tag_latest", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(Path.Combine(_server.StoragePath, "repositories") + "/"));
        outside.Should().BeEmpty();
    }

    [Test]
    public async Task Empty_checksum_header_answers_400()
    {
        var id = V1Client.NewImageId();
        await _server.Client.PutJsonAsync(id, V1Client.ImageJson(id));
        var (status, _, body) = await SendAsync(Put($"/v1/images/{id}/checksum", "", "X-Docker-Checksum-Payload: \r\n"));
        (status, body).Should().Be((400, "{\"error\": \"Missing Image's checksum\"}"));
    }

    [Test]
    public async Task Invalid_utf8_in_repository_path_answers_400()
    {
        var (status, _, body) = await SendAsync(Get("/v1/repositories/ns/a%C3%28/tags"));
        (status, body).Should().Be((400, "{\"error\": \"Invalid repository name\"}"));
    }

    [Test]
    public async Task Truncated_chunked_layer_is_not_published()
    {
        var id = V1Client.NewImageId();
        await _server.Client.PutJsonAsync(id, V1Client.ImageJson(id));
        var request = $"PUT /v1/images/{id}/layer HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n10\r\n0123456789abcdef\r\n5\r\nzz";
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync("127.0.0.1", _server.Port);
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(request));
            await Task.Delay(200);
        }
        var dir = Path.Combine(_server.StoragePath, "images", id);
        for (var i = 0; i < 50 && Directory.GetFiles(dir).Length != 3; i++) await Task.Delay(100);
        Directory.GetFiles(dir).Select(Path.GetFileName).Should().BeEquivalentTo("json", "ancestry", "_inprogress");
        (await SendAsync(Get("/v1/_ping"))).Status.Should().Be(200);
    }

    [Test]
    public async Task Overlong_header_answers_431_and_the_server_keeps_answering()
    {
        var big = new string('a', 70_000);
        var (status, _, _) = await SendAsync($"GET /v1/_ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {big}\r\nConnection: close\r\n\r\n");
        status.Should().Be(431);
        (await SendAsync(Get("/v1/_ping"))).Status.Should().Be(200);
    }

    [Test]
    public async Task A_tls_client_hello_on_the_plain_listener_is_refused_and_serving_goes_on()
    {
        // docker tries HTTPS first even for an insecure registry (docs/client-behaviour.md, 'Transport'): the first bytes are a TLS record.
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync("127.0.0.1", _server.Port);
            var stream = tcp.GetStream();
            byte[] hello = [0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03, .. new byte[32], 0x00, 0x00, 0x02, 0x00, 0x2f, 0x01, 0x00];
            await stream.WriteAsync(hello);
            using var reader = new MemoryStream();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await stream.CopyToAsync(reader, cts.Token);
            var answer = Encoding.ASCII.GetString(reader.ToArray());
            if (answer.Length > 0) answer.Should().StartWith("HTTP/1.1 400");
        }

        var (status, head, body) = await SendAsync(Get("/v2/"));
        status.Should().Be(200);
        head.Should().Contain("Docker-Distribution-API-Version: registry/2.0");
        body.Should().Be("{}");
    }
}
