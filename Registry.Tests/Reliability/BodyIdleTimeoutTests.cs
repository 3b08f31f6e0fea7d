using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Reliability;

/// <summary>
/// <c>body_idle_timeout_seconds</c> over raw TCP (HttpClient would not read an answer before it has sent the whole
/// body): a body that stalls is answered 408 in the protocol's error body once no byte has arrived for the timeout,
/// however much it sent before, and an upload cut this way publishes nothing. The minimum body rate stays at its
/// default (240 B/s over 30 s), which would not cut any of these stalls within the test's bounds.
/// </summary>
[Category("e2e")]
public class BodyIdleTimeoutTests
{
    private const string V1Message = "Bad request: Reading the request body timed out: no data arrived for 2 s";

    // Generous for a loaded 2-core CI box; the point is that it is far below the minimum rate's ~30 s.
    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(10);

    private RegistryProcess _server = null!;

    [OneTimeSetUp]
    public async Task StartAsync() =>
        _server = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["BODY_IDLE_TIMEOUT"] = "2" });

    [OneTimeTearDown]
    public async Task StopAsync() => await _server.DisposeAsync();

    [Test]
    public async Task Chunked_json_body_that_stalls_without_its_last_chunk_is_answered_408_within_the_idle_timeout()
    {
        var id = V1Client.NewImageId();
        // 7 KB of an image json, as in the fuzz finding (7078 bytes of JSON, no terminating chunk): ~30 s for the rate.
        var json = Encoding.ASCII.GetBytes(V1Client.ImageJson(id).TrimEnd('}') + ", \"comment\": \"" + new string('x', 7000) + "\"}");
        var head = $"PUT /v1/images/{id}/json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{json.Length:x}\r\n";

        var (answer, elapsed) = await RawHttp.StallAsync(_server.Port, [.. Encoding.ASCII.GetBytes(head), .. json, .. "\r\n"u8]);

        answer.Should().StartWith("HTTP/1.1 408 Request Timeout\r\n");
        answer.Should().Contain("\r\nContent-Type: application/json\r\n");
        RawHttp.Body(answer).Should().Be($"{{\"error\": \"{V1Message}\"}}");
        elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(1.5)).And.BeLessThan(AnswerBound);
        (await _server.Client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Status.Should().Be(404);
    }

    [Test]
    public async Task Layer_put_that_stalls_after_4_MiB_of_8_is_answered_408_publishes_nothing_and_can_be_pushed_again()
    {
        var id = V1Client.NewImageId();
        (await _server.Client.PutJsonAsync(id, V1Client.ImageJson(id)).ReadAsync()).Should().Be((200, "true"));
        var head = $"PUT /v1/images/{id}/layer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {8 << 20}\r\n\r\n";

        var (answer, elapsed) = await RawHttp.StallAsync(_server.Port, [.. Encoding.ASCII.GetBytes(head), .. V1Client.RandomBytes(4 << 20)]);

        answer.Should().StartWith("HTTP/1.1 408 Request Timeout\r\n");
        RawHttp.Body(answer).Should().Be($"{{\"error\": \"{V1Message}\"}}");
        elapsed.Should().BeLessThan(AnswerBound);
        await ServerLimitTests.WaitUntilNoTempFilesAsync(_server, id);
        Directory.GetFiles(Path.Combine(_server.StoragePath, "images", id)).Select(Path.GetFileName)
            .Should().BeEquivalentTo("json", "ancestry", "_inprogress");
        // No layer: the image is still being uploaded (Docker Registry HTTP API V1, 'Images').
        (await _server.Client.GetAsync($"/v1/images/{id}/layer").ReadAsync())
            .Should().Be((400, "{\"error\": \"Image is being uploaded, retry later\"}"));

        var layer = V1Client.RandomBytes(8 << 20);
        (await _server.Client.PutLayerAsync(id, layer).ReadAsync()).Should().Be((200, "true"));
        var checksum = V1Client.PayloadChecksum(V1Client.ImageJson(id), layer);
        (await _server.Client.PutChecksumAsync(id, checksum).ReadAsync()).Should().Be((200, "true"));
        using var pulled = await _server.Client.GetAsync($"/v1/images/{id}/layer");
        ((int)pulled.StatusCode).Should().Be(200);
        (await pulled.Content.ReadAsByteArrayAsync()).Should().Equal(layer);
    }

    [Test]
    public async Task Blob_patch_that_stalls_is_answered_408_in_the_v2_error_body_and_leaves_the_session_empty()
    {
        const string repository = "idle/blob";
        using var started = await _server.Client.PostAsync($"/v2/{repository}/blobs/uploads/", null);
        ((int)started.StatusCode).Should().Be(202);
        var location = started.Headers.Location!.OriginalString;
        var head = $"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {8 << 20}\r\n\r\n";

        var (answer, elapsed) = await RawHttp.StallAsync(_server.Port, [.. Encoding.ASCII.GetBytes(head), .. V1Client.RandomBytes(4 << 20)]);

        answer.Should().StartWith("HTTP/1.1 408 Request Timeout\r\n");
        answer.Should().Contain("\r\nDocker-Distribution-API-Version: registry/2.0\r\n");
        RawHttp.Body(answer).Should().Be($"{{\"errors\":[{{\"code\":\"UNSUPPORTED\",\"message\":\"{V1Message}\"}}]}}");
        elapsed.Should().BeLessThan(AnswerBound);

        // The session is as it was before the PATCH: nothing of the 4 MiB was kept.
        using (var status = await _server.Client.GetAsync(location))
        {
            ((int)status.StatusCode).Should().Be(204);
            status.Header("Range").Should().Be("0-0");
        }
        var blob = V1Client.RandomBytes(4096);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(blob));
        (await _server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}"))).StatusCode
            .Should().Be(HttpStatusCode.NotFound);

        // ... and still takes the whole blob.
        using var put = await _server.Client.PutAsync($"{location}{(location.Contains('?') ? '&' : '?')}digest={digest}", new ByteArrayContent(blob));
        ((int)put.StatusCode).Should().Be(201);
        using var pulled = await _server.Client.GetAsync($"/v2/{repository}/blobs/{digest}");
        (await pulled.Content.ReadAsByteArrayAsync()).Should().Equal(blob);
    }

    [Test]
    public async Task Slow_but_steady_body_that_takes_longer_than_the_idle_timeout_succeeds()
    {
        var id = V1Client.NewImageId();
        var json = Encoding.ASCII.GetBytes(V1Client.ImageJson(id));
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, _server.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"PUT /v1/images/{id}/json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
        var clock = Stopwatch.StartNew();
        // Eight pieces 0.5 s apart: 3.5 s in all, longer than the 2 s timeout, never idle for it.
        const int pieces = 8;
        var size = (json.Length + pieces - 1) / pieces;
        for (var offset = 0; offset < json.Length; offset += size)
        {
            if (offset > 0) await Task.Delay(500);
            var piece = json.AsMemory(offset, Math.Min(size, json.Length - offset));
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{piece.Length:x}\r\n"));
            await stream.WriteAsync(piece);
            await stream.WriteAsync("\r\n"u8.ToArray());
        }
        await stream.WriteAsync("0\r\n\r\n"u8.ToArray());
        clock.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(3));

        var answer = await RawHttp.ReadAnswerAsync(stream, new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        answer.Should().StartWith("HTTP/1.1 200 OK\r\n");
        RawHttp.Body(answer).Should().Be("true");
        File.ReadAllBytes(Path.Combine(_server.StoragePath, "images", id, "json")).Should().Equal(json);
    }
}
