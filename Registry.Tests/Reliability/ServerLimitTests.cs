using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Core.Storage;
using Registry.Tests.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Reliability;

/// <summary>
/// The limits that keep one client from exhausting the server: concurrent layer uploads per client address
/// (<c>max_uploads_per_client</c>) and the minimum body rate (a stalled upload is cut and publishes nothing).
/// </summary>
[Category("e2e")]
public class ServerLimitTests
{
    [Test]
    public async Task Uploads_beyond_the_per_client_cap_with_no_queue_answer_429_with_retry_after_until_one_finishes()
    {
        await using var server = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["MAX_UPLOADS_PER_CLIENT"] = "2",
            ["UPLOAD_QUEUE_PER_CLIENT"] = "0",
        });
        var held = new List<(string Id, GatedContent Body, Task<HttpResponseMessage> Upload)>();
        for (var i = 0; i < 2; i++)
        {
            var id = await NewImageAsync(server);
            var body = new GatedContent(4096);
            held.Add((id, body, server.Client.SendAsync(LayerRequest(id, body))));
        }
        // The server has passed the cap check once it streams the body into a temp file.
        foreach (var (id, _, _) in held) await WaitForTempFileAsync(server, id);

        var refusedId = await NewImageAsync(server);
        using (var refused = await server.Client.PutLayerAsync(refusedId, [1, 2, 3]))
        {
            ((int)refused.StatusCode).Should().Be(429);
            (await refused.Content.ReadAsStringAsync()).Should().Be("{\"error\": \"Too many concurrent uploads from this client\"}");
            refused.Header("Retry-After").Should().Be("5");
            refused.Header("Content-Type").Should().Be("application/json");
        }
        Directory.GetFiles(Path.Combine(server.StoragePath, "images", refusedId)).Select(Path.GetFileName)
            .Should().BeEquivalentTo("json", "ancestry", "_inprogress");

        // Other requests from the same client are not capped.
        (await server.Client.GetAsync("/v1/_ping").ReadAsync()).Status.Should().Be(200);

        held[0].Body.Release();
        using (var first = await held[0].Upload.WaitAsync(TimeSpan.FromSeconds(30)))
            ((int)first.StatusCode).Should().Be(200);
        (await server.Client.PutLayerAsync(refusedId, [1, 2, 3]).ReadAsync()).Should().Be((200, "true"));

        held[1].Body.Release();
        using (var second = await held[1].Upload.WaitAsync(TimeSpan.FromSeconds(30)))
            ((int)second.StatusCode).Should().Be(200);
        new FileInfo(Path.Combine(server.StoragePath, "images", held[1].Id, "layer")).Length.Should().Be(2 * 4096);
    }

    [Test]
    public async Task Bounds_of_zero_turn_the_limit_off()
    {
        await using var server = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["MAX_UPLOADS_PER_CLIENT"] = "0",
            ["MAX_UPLOADS"] = "0",
        });
        var held = new List<(GatedContent Body, Task<HttpResponseMessage> Upload)>();
        for (var i = 0; i < 10; i++)
        {
            var id = await NewImageAsync(server);
            var body = new GatedContent(1024);
            held.Add((body, server.Client.SendAsync(LayerRequest(id, body))));
            await WaitForTempFileAsync(server, id);
        }
        foreach (var (body, _) in held) body.Release();
        foreach (var (_, upload) in held)
        {
            using var response = await upload.WaitAsync(TimeSpan.FromSeconds(30));
            ((int)response.StatusCode).Should().Be(200);
        }
    }

    [Test]
    public async Task Stalled_upload_is_cut_by_the_minimum_body_rate_and_publishes_nothing()
    {
        await using var server = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["BODY_MIN_RATE"] = "100000",
            ["BODY_MIN_RATE_GRACE"] = "2",
        });
        var id = await NewImageAsync(server);

        // Raw TCP: the client sends the headers and one 1 KiB chunk, then nothing. (HttpClient would not read the
        // answer before it has sent the whole body.)
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port);
        var stream = tcp.GetStream();
        var head = $"PUT /v1/images/{id}/layer HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head + new string('x', 1024) + "\r\n"));
        var started = Stopwatch.StartNew();

        // After the 2 s grace the body is far below 100 kB/s: Kestrel answers 408 and closes the connection.
        using var reader = new MemoryStream();
        await stream.CopyToAsync(reader, new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        var answer = Encoding.ASCII.GetString(reader.ToArray());
        answer.Should().StartWith("HTTP/1.1 408 Request Timeout\r\n");
        answer.Should().Contain("\r\n\r\n{\"error\": \"Bad request: Reading the request body timed out due to data arriving too slowly.");
        started.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(1.5)).And.BeLessThan(TimeSpan.FromSeconds(10));

        await WaitUntilNoTempFilesAsync(server, id);
        Directory.GetFiles(Path.Combine(server.StoragePath, "images", id)).Select(Path.GetFileName)
            .Should().BeEquivalentTo("json", "ancestry", "_inprogress");
        (await server.Client.GetAsync($"/v1/images/{id}/layer").ReadAsync()).Status.Should().Be(400);
        (await server.Client.GetAsync("/v1/_ping").ReadAsync()).Status.Should().Be(200);
    }

    private static async Task<string> NewImageAsync(RegistryProcess server)
    {
        var id = V1Client.NewImageId();
        (await server.Client.PutJsonAsync(id, V1Client.ImageJson(id)).ReadAsync()).Should().Be((200, "true"));
        return id;
    }

    private static HttpRequestMessage LayerRequest(string id, HttpContent body)
    {
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/layer") { Content = body };
        request.Headers.TransferEncodingChunked = true;
        return request;
    }

    private static async Task WaitForTempFileAsync(RegistryProcess server, string id)
    {
        var dir = Path.Combine(server.StoragePath, "images", id);
        for (var i = 0; i < 200; i++)
        {
            if (Directory.EnumerateFiles(dir, StorageKey.TempPrefix + "*").Any()) return;
            await Task.Delay(25);
        }
        Assert.Fail($"the upload of {id} never reached storage");
    }

    /// <summary>Until the upload cut short has removed its temp file from the image's directory (bounded).</summary>
    internal static async Task WaitUntilNoTempFilesAsync(RegistryProcess server, string id)
    {
        var dir = Path.Combine(server.StoragePath, "images", id);
        for (var i = 0; i < 200 && Directory.EnumerateFiles(dir, StorageKey.TempPrefix + "*").Any(); i++) await Task.Delay(25);
    }

    /// <summary>
    /// Sends <c>size</c> bytes and flushes them (the client would otherwise hold small writes, headers included, in
    /// its buffer), then waits for <see cref="Release"/> before sending as many again.
    /// </summary>
    private sealed class GatedContent(int size) : HttpContent
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _released.TrySetResult();

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(Enumerable.Repeat((byte)1, size).ToArray(), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await _released.Task.WaitAsync(cancellationToken);
            await stream.WriteAsync(Enumerable.Repeat((byte)2, size).ToArray(), cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>The upload bounds in the shipped config: defaults, variables, ranges.</summary>
public class UploadCapSettingsTests : ConfigTestBase
{
    [Test]
    public void Defaults_leave_room_for_a_build_farm_and_the_variables_override_them()
    {
        var defaults = LoadSample().Uploads;
        (defaults.MaxUploads, defaults.MaxUploadsPerClient, defaults.QueuePerClient, defaults.QueueTimeout)
            .Should().Be((128, 64, 256, TimeSpan.FromSeconds(60)));
        var set = LoadSample(("MAX_UPLOADS", "10"), ("MAX_UPLOADS_PER_CLIENT", "3"), ("UPLOAD_QUEUE_PER_CLIENT", "0"), ("UPLOAD_QUEUE_TIMEOUT", "5")).Uploads;
        (set.MaxUploads, set.MaxUploadsPerClient, set.QueuePerClient, set.QueueTimeout).Should().Be((10, 3, 0, TimeSpan.FromSeconds(5)));
        LoadSample(("MAX_UPLOADS_PER_CLIENT", "0"), ("MAX_UPLOADS", "0")).Uploads.Enabled.Should().BeFalse();
    }

    [Test]
    public void Absent_from_the_file_means_the_defaults() =>
        LoadWhole("storage: inmemory\n").Uploads.Should().Be(new UploadLimitSettings());

    [TestCase("MAX_UPLOADS_PER_CLIENT", "-1", "max_uploads_per_client", "expected an integer from 0 to 2147483647, got the integer -1")]
    [TestCase("MAX_UPLOADS", "-1", "max_uploads", "expected an integer from 0 to 2147483647, got the integer -1")]
    [TestCase("UPLOAD_QUEUE_PER_CLIENT", "x", "upload_queue_per_client", "expected an integer from 0 to 2147483647, got the string")]
    [TestCase("UPLOAD_QUEUE_TIMEOUT", "86401", "upload_queue_timeout_seconds", "expected an integer from 0 to 86400, got the integer 86401")]
    public void Out_of_range_is_a_config_error_naming_the_key(string variable, string value, string key, string problem)
    {
        var act = () => LoadSample((variable, value));
        act.Should().Throw<ConfigException>().Which.Message.Should().Contain(key).And.Contain(problem);
    }
}
