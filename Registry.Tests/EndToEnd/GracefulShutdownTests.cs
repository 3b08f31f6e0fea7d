using System.Net.Http.Headers;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.IO;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>SIGTERM lets an upload in flight finish (within <c>shutdown_timeout_seconds</c>) or discards it whole.</summary>
[Category("e2e")]
public class GracefulShutdownTests
{
    [Test]
    public async Task Upload_in_flight_at_sigterm_completes_and_is_published()
    {
        await using var server = await RegistryProcess.StartAsync();
        var id = V1Client.NewImageId();
        var json = V1Client.ImageJson(id);
        (await server.Client.PutJsonAsync(id, json).ReadAsync()).Status.Should().Be(200);

        var slow = new SlowStream(chunks: 20, chunkSize: 64 * 1024, delay: TimeSpan.FromMilliseconds(100));
        var content = new StreamContent(slow);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/layer") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        var upload = server.Client.SendAsync(request);

        await slow.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // The client's first bytes can sit in the socket's buffers before the server has taken the request; a SIGTERM
        // then closes a connection that never carried a request. The upload holding its slot means the app has it.
        await WaitForUploadInFlightAsync(server.Client);
        Posix.Signal(server.Pid, Posix.SigTerm);

        using var response = await upload.WaitAsync(TimeSpan.FromSeconds(30));
        ((int)response.StatusCode).Should().Be(200);
        var layer = Path.Combine(server.StoragePath, "images", id, "layer");
        new FileInfo(layer).Length.Should().Be(20 * 64 * 1024);
        File.ReadAllText(Path.Combine(server.StoragePath, "images", id, "_checksum"))
            .Should().Be($"[\"{V1Client.PayloadChecksum(json, File.ReadAllBytes(layer))}\"]");
    }

    [Test]
    public async Task Upload_cut_by_the_shutdown_timeout_publishes_nothing()
    {
        await using var server = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["SHUTDOWN_TIMEOUT"] = "1" });
        var id = V1Client.NewImageId();
        (await server.Client.PutJsonAsync(id, V1Client.ImageJson(id)).ReadAsync()).Status.Should().Be(200);

        var slow = new SlowStream(chunks: 100, chunkSize: 1024, delay: TimeSpan.FromMilliseconds(100));
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/layer") { Content = new StreamContent(slow) };
        request.Headers.TransferEncodingChunked = true;
        var upload = server.Client.SendAsync(request);

        await slow.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Posix.Signal(server.Pid, Posix.SigTerm);
        var act = async () => await upload.WaitAsync(TimeSpan.FromSeconds(30));
        await act.Should().ThrowAsync<Exception>();

        for (var i = 0; i < 100 && !server.HasExited; i++) await Task.Delay(100);
        server.HasExited.Should().BeTrue();
        Directory.GetFiles(Path.Combine(server.StoragePath, "images", id)).Select(Path.GetFileName)
            .Should().BeEquivalentTo("json", "ancestry", "_inprogress");
    }

    private static async Task WaitForUploadInFlightAsync(HttpClient client)
    {
        for (var i = 0; i < 100; i++)
        {
            var metrics = await client.GetStringAsync("/metrics");
            if (metrics.Split('\n').Contains("registry_uploads_in_flight 1")) return;
            await Task.Delay(50);
        }
        Assert.Fail("the layer upload never took an upload slot on the server");
    }

    /// <summary>A body that trickles in: <paramref name="chunks"/> chunks, one every <paramref name="delay"/>.</summary>
    private sealed class SlowStream(int chunks, int chunkSize, TimeSpan delay) : ReadOnlyStream
    {
        private int _sent;
        private int _leftInChunk;

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override int Read(Span<byte> buffer) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_leftInChunk == 0)
            {
                if (_sent == chunks) return 0;
                if (_sent > 0) await Task.Delay(delay, cancellationToken);
                _sent++;
                _leftInChunk = chunkSize;
            }
            var n = Math.Min(buffer.Length, _leftInChunk);
            buffer.Span[..n].Fill((byte)_sent);
            _leftInChunk -= n;
            Started.TrySetResult();
            return n;
        }
    }
}
