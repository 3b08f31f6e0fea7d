using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Storage;
using Registry.Tests.Support;
using Registry.Tests.V2;

namespace Registry.Tests.Reliability;

/// <summary>
/// Bursts of uploads through a real registry process (docs/configuration.md, 'Concurrent uploads'): a build farm behind
/// one address pushes 64 layers at once and none is refused, a second client is served while the first floods, and only
/// a full queue or a wait past the timeout answers 429.
/// </summary>
[Category("e2e")]
public class UploadBurstTests
{
    internal static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Sixty_four_concurrent_blob_pushes_from_one_address_all_succeed_with_intact_bytes()
    {
        await using var server = await RegistryProcess.StartAsync();
        var burst = HeldPush.StartMany(server.Client, "farm/app", 64, 64 * 1024);
        // All 64 are in flight at once: each waits for the release before sending its second half.
        await Task.WhenAll(burst.Select(p => p.Started)).WaitAsync(Patience);
        await Task.Delay(300);
        burst.Where(p => p.Response.IsCompleted).Should().BeEmpty("no upload of the burst may be answered before its body is complete");

        foreach (var push in burst) push.Release();
        await AssertStoredAsync(server.Client, "farm/app", burst);
    }

    [Test]
    public async Task A_second_client_pushes_while_the_first_floods_beyond_its_share()
    {
        await using var server = await RegistryProcess.StartAsync();
        // 80 from one address: 64 run (its share), 16 wait in its queue; every one of them is held open.
        var flood = HeldPush.StartMany(server.Client, "flood/app", 80, 16 * 1024);
        await Task.WhenAll(flood.Select(p => p.Started)).WaitAsync(Patience);

        using var other = ClientFrom(IPAddress.Parse("127.0.0.2"), server.BaseAddress);
        var content = V1Client.RandomBytes(100_000);
        var started = Stopwatch.StartNew();
        var digest = await V2Blobs.PushAsync(other, "other/app", content);
        started.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10));
        using (var get = await other.GetAsync($"/v2/other/app/blobs/{digest}"))
            (await get.Content.ReadAsByteArrayAsync()).Should().Equal(content);
        flood.Where(p => p.Response.IsCompleted).Should().BeEmpty("the flood is still held open, neither refused nor finished");

        foreach (var push in flood) push.Release();
        await AssertStoredAsync(server.Client, "flood/app", flood);
    }

    [Test]
    public async Task A_freed_slot_goes_to_the_waiting_client_running_the_fewest_not_to_the_flood_queued_first()
    {
        await using var server = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["MAX_UPLOADS"] = "2",
            ["MAX_UPLOADS_PER_CLIENT"] = "0",
        });
        // The first client takes both slots and queues two more uploads before the second client arrives.
        var running = new List<HeldLayer>();
        for (var i = 0; i < 2; i++)
        {
            running.Add(await HeldLayer.StartAsync(server));
            await running[^1].WaitUntilStreamingAsync();
        }
        var queued = new List<HeldLayer>();
        for (var i = 0; i < 2; i++)
        {
            queued.Add(await HeldLayer.StartAsync(server));
            await queued[^1].Sent.WaitAsync(Patience);
        }
        await Task.Delay(300);

        using var other = ClientFrom(IPAddress.Parse("127.0.0.2"), server.BaseAddress);
        var id = V1Client.NewImageId();
        (await other.PutJsonAsync(id, V1Client.ImageJson(id)).ReadAsync()).Should().Be((200, "true"));
        var push = other.PutLayerAsync(id, V1Client.RandomBytes(5000));
        await Task.Delay(300);
        push.IsCompleted.Should().BeFalse("both slots are taken, so the second client waits too");

        // First in, first out would hand the freed slot to the first client's queue (held open here) and leave the
        // second client waiting; the second runs none, the first still runs one, so the second gets it.
        running[0].Release();
        (await push.WaitAsync(Patience).ReadAsync()).Should().Be((200, "true"));

        foreach (var upload in queued.Append(running[1])) upload.Release();
        foreach (var upload in running.Concat(queued))
        {
            using var response = await upload.Response.WaitAsync(Patience);
            ((int)response.StatusCode).Should().Be(200);
        }
    }

    [Test]
    public async Task An_upload_waits_for_a_slot_and_a_flood_beyond_the_queue_gets_429_with_retry_after()
    {
        await using var server = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["MAX_UPLOADS_PER_CLIENT"] = "2",
            ["UPLOAD_QUEUE_PER_CLIENT"] = "1",
        });
        var running = new List<HeldLayer>();
        for (var i = 0; i < 2; i++)
        {
            running.Add(await HeldLayer.StartAsync(server));
            await running[^1].WaitUntilStreamingAsync();
        }
        var waiting = await HeldLayer.StartAsync(server);
        await waiting.Sent.WaitAsync(Patience);
        await Task.Delay(500);
        waiting.IsStreaming.Should().BeFalse("the third upload waits for a slot, its body unread");

        var refusedId = await HeldLayer.NewImageAsync(server);
        using (var refused = await server.Client.PutLayerAsync(refusedId, [1, 2, 3]))
        {
            ((int)refused.StatusCode).Should().Be(429);
            (await refused.Content.ReadAsStringAsync()).Should().Be("{\"error\": \"Too many concurrent uploads from this client\"}");
            refused.Header("Retry-After").Should().Be("5");
        }

        running[0].Release();
        await waiting.WaitUntilStreamingAsync();
        waiting.Release();
        running[1].Release();
        foreach (var upload in running.Append(waiting))
        {
            using var response = await upload.Response.WaitAsync(Patience);
            ((int)response.StatusCode).Should().Be(200);
        }
        (await server.Client.PutLayerAsync(refusedId, [1, 2, 3]).ReadAsync()).Should().Be((200, "true"));
    }

    [Test]
    public async Task A_wait_past_the_queue_timeout_gets_429()
    {
        await using var server = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["MAX_UPLOADS_PER_CLIENT"] = "1",
            ["UPLOAD_QUEUE_TIMEOUT"] = "1",
        });
        var held = await HeldLayer.StartAsync(server);
        await held.WaitUntilStreamingAsync();

        var id = await HeldLayer.NewImageAsync(server);
        var clock = Stopwatch.StartNew();
        using (var refused = await server.Client.PutLayerAsync(id, [1, 2, 3]))
        {
            ((int)refused.StatusCode).Should().Be(429);
            refused.Header("Retry-After").Should().Be("5");
            (await refused.Content.ReadAsStringAsync()).Should().Be("{\"error\": \"Too many concurrent uploads from this client\"}");
        }
        clock.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(0.9)).And.BeLessThan(TimeSpan.FromSeconds(15));

        held.Release();
        using (var done = await held.Response.WaitAsync(Patience)) ((int)done.StatusCode).Should().Be(200);
    }

    internal static async Task AssertStoredAsync(HttpClient client, string repository, IReadOnlyList<HeldPush> pushes)
    {
        foreach (var push in pushes)
        {
            using var response = await push.Response.WaitAsync(Patience);
            ((int)response.StatusCode).Should().Be(201, await response.Content.ReadAsStringAsync());
        }
        foreach (var push in pushes)
        {
            using var get = await client.GetAsync($"/v2/{repository}/blobs/{push.Digest}");
            ((int)get.StatusCode).Should().Be(200);
            (await get.Content.ReadAsByteArrayAsync()).Should().Equal(push.Content);
        }
    }

    /// <summary>A client whose connections leave from <paramref name="source"/> (any 127.x address reaches the server).</summary>
    private static HttpClient ClientFrom(IPAddress source, Uri baseAddress) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = baseAddress, Timeout = Patience };

    /// <summary>A monolithic v2 blob push (POST <c>?digest=</c>) whose body stops halfway until released.</summary>
    internal sealed class HeldPush
    {
        private readonly HeldBody _body;

        private HeldPush(HttpClient client, string repository, byte[] content)
        {
            Content = content;
            Digest = V2Blobs.Sha256(content);
            _body = new HeldBody(content);
            var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={Uri.EscapeDataString(Digest)}") { Content = _body };
            Response = client.SendAsync(request);
        }

        public byte[] Content { get; }

        public string Digest { get; }

        public Task<HttpResponseMessage> Response { get; }

        public Task Started => _body.Sent;

        public void Release() => _body.Release();

        public static List<HeldPush> StartMany(HttpClient client, string repository, int count, int size) =>
            Enumerable.Range(0, count).Select(_ => new HeldPush(client, repository, V1Client.RandomBytes(size))).ToList();
    }

    /// <summary>A V1 layer PUT held open halfway; the server has admitted it once its temp file exists.</summary>
    private sealed class HeldLayer
    {
        private readonly HeldBody _body;
        private readonly string _directory;

        private HeldLayer(RegistryProcess server, string id)
        {
            _directory = Path.Combine(server.StoragePath, "images", id);
            _body = new HeldBody(V1Client.RandomBytes(8192));
            var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/layer") { Content = _body };
            request.Headers.TransferEncodingChunked = true;
            Response = server.Client.SendAsync(request);
        }

        public Task<HttpResponseMessage> Response { get; }

        public Task Sent => _body.Sent;

        public bool IsStreaming => Directory.EnumerateFiles(_directory, StorageKey.TempPrefix + "*").Any();

        public void Release() => _body.Release();

        public static async Task<HeldLayer> StartAsync(RegistryProcess server) => new(server, await NewImageAsync(server));

        public static async Task<string> NewImageAsync(RegistryProcess server)
        {
            var id = V1Client.NewImageId();
            (await server.Client.PutJsonAsync(id, V1Client.ImageJson(id)).ReadAsync()).Should().Be((200, "true"));
            return id;
        }

        public async Task WaitUntilStreamingAsync()
        {
            for (var i = 0; i < 400 && !IsStreaming; i++) await Task.Delay(25);
            IsStreaming.Should().BeTrue("the server streams an admitted upload into a temp file");
        }
    }

    /// <summary>Sends the first half and flushes it, then waits for <see cref="Release"/> before sending the rest.</summary>
    private sealed class HeldBody : HttpContent
    {
        private readonly byte[] _content;
        private readonly TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HeldBody(byte[] content)
        {
            _content = content;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }

        public Task Sent => _sent.Task;

        public void Release() => _released.TrySetResult();

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var half = _content.Length / 2;
            await stream.WriteAsync(_content.AsMemory(0, half), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            _sent.TrySetResult();
            await _released.Task.WaitAsync(cancellationToken);
            await stream.WriteAsync(_content.AsMemory(half), cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _content.Length;
            return true;
        }
    }
}

/// <summary>The build-farm burst on the s3 flavor against a real S3 (Ceph RGW): 64 concurrent pushes from one address all stored.</summary>
[TestFixture]
[Category("s3")]
public sealed class S3UploadBurstTests
{
    [Test]
    public async Task Sixty_four_concurrent_blob_pushes_from_one_address_all_succeed_on_s3()
    {
        var rgw = await CephRgw.SharedAsync();
        var bucket = await rgw.CreateBucketAsync("registry-burst");
        var environment = rgw.RegistryEnvironment("s3", bucket, "/burst-" + Guid.NewGuid().ToString("N")[..8])
            .ToDictionary(e => e.Key, e => (string?)e.Value);
        await using var server = await RegistryProcess.StartAsync(environment);
        var burst = UploadBurstTests.HeldPush.StartMany(server.Client, "farm/app", 64, 64 * 1024);
        await Task.WhenAll(burst.Select(p => p.Started)).WaitAsync(UploadBurstTests.Patience);
        await Task.Delay(300);
        burst.Where(p => p.Response.IsCompleted).Should().BeEmpty("no upload of the burst may be answered before its body is complete");

        foreach (var push in burst) push.Release();
        await UploadBurstTests.AssertStoredAsync(server.Client, "farm/app", burst);
    }
}
