using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V1;

public class ImageTests : RegistryTestBase
{
    [Test]
    public async Task Pushed_image_reads_back_with_size_checksum_and_immutable_headers()
    {
        var id = V1Client.NewImageId();
        var layer = V1Client.RandomBytes(10_000);
        var json = await Client.PushImageAsync(id, layer);

        using var response = await Client.GetAsync($"/v1/images/{id}/json");
        ((int)response.StatusCode).Should().Be(200);
        (await response.Content.ReadAsStringAsync()).Should().Be(json);
        response.Header("X-Docker-Size").Should().Be("10000");
        response.Header("X-Docker-Checksum-Payload").Should().Be(V1Client.PayloadChecksum(json, layer));
        response.Header("Cache-Control").Should().Be("public, max-age=31536000");
        response.Header("Last-Modified").Should().Be("Thu, 01 Jan 1970 00:00:00 GMT");
        response.Header("Pragma").Should().BeNull();
        DateTimeOffset.Parse(response.Header("Expires")!).Should().BeCloseTo(DateTimeOffset.UtcNow.AddYears(1), TimeSpan.FromDays(2));

        using var layerResponse = await Client.GetAsync($"/v1/images/{id}/layer");
        ((int)layerResponse.StatusCode).Should().Be(200);
        (await layerResponse.Content.ReadAsByteArrayAsync()).Should().Equal(layer);
        layerResponse.Header("Accept-Ranges").Should().Be("bytes");
        layerResponse.Header("Content-Type").Should().Be("application/octet-stream");
        layerResponse.Header("Content-Length").Should().Be("10000");

        (await Client.GetAsync($"/v1/images/{id}/ancestry").ReadAsync()).Should().Be((200, $"[\"{id}\"]"));
    }

    [Test]
    public async Task Ancestry_lists_the_image_then_its_parents_to_the_root()
    {
        var (a, b, c) = (V1Client.NewImageId(), V1Client.NewImageId(), V1Client.NewImageId());
        await Client.PushImageAsync(a, [1]);
        await Client.PushImageAsync(b, [2], parent: a);
        await Client.PushImageAsync(c, [3], parent: b);
        (await Client.GetAsync($"/v1/images/{c}/ancestry").ReadAsync()).Should().Be((200, $"[\"{c}\", \"{b}\", \"{a}\"]"));
    }

    [Test]
    public async Task Complete_image_refuses_second_json_layer_and_checksum()
    {
        var id = V1Client.NewImageId();
        var json = await Client.PushImageAsync(id, [1, 2, 3]);
        (await Client.PutJsonAsync(id, json).ReadAsync()).Should().Be((409, "{\"error\": \"Image already exists\"}"));
        (await Client.PutLayerAsync(id, [9]).ReadAsync()).Should().Be((409, "{\"error\": \"Image already exists\"}"));
        (await Client.PutChecksumAsync(id, V1Client.PayloadChecksum(json, [1, 2, 3])).ReadAsync())
            .Should().Be((409, "{\"error\": \"Cannot set this image checksum\"}"));
    }

    [TestCase("json")]
    [TestCase("ancestry")]
    [TestCase("layer")]
    [TestCase("files")]
    public async Task Image_being_uploaded_answers_400_before_if_modified_since(string file)
    {
        var id = V1Client.NewImageId();
        (await Client.PutJsonAsync(id, V1Client.ImageJson(id)).ReadAsync()).Status.Should().Be(200);
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/images/{id}/{file}");
        request.Headers.IfModifiedSince = DateTimeOffset.UtcNow;
        var (status, body) = await Client.SendAsync(request).ReadAsync();
        (status, body).Should().Be((400, "{\"error\": \"Image is being uploaded, retry later\"}"));
    }

    [TestCase("json")]
    [TestCase("ancestry")]
    [TestCase("layer")]
    [TestCase("files")]
    public async Task If_modified_since_answers_304_without_checking_existence(string file)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/images/{V1Client.NewImageId()}/{file}");
        request.Headers.TryAddWithoutValidation("If-Modified-Since", "whatever");
        using var response = await Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(304);
        response.Header("Cache-Control").Should().Be("public, max-age=31536000");
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [TestCase("ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789")]
    [TestCase("abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345678")]
    [TestCase("xyz")]
    public async Task Malformed_image_id_answers_404_invalid_image_id(string id)
    {
        foreach (var file in new[] { "json", "ancestry", "layer", "files" })
            (await Client.GetAsync($"/v1/images/{id}/{file}").ReadAsync()).Should().Be((404, "{\"error\": \"Invalid image ID\"}"));
        (await Client.PutJsonAsync(id, "{}").ReadAsync()).Should().Be((404, "{\"error\": \"Invalid image ID\"}"));
    }

    [Test]
    public async Task Sixteen_character_ids_are_valid()
    {
        var id = "0123456789abcdef";
        await Client.PushImageAsync(id, [7]);
        (await Client.GetAsync($"/v1/images/{id}/ancestry").ReadAsync()).Should().Be((200, $"[\"{id}\"]"));
    }

    [Test]
    public async Task Unknown_image_answers_404_image_not_found()
    {
        var id = V1Client.NewImageId();
        foreach (var file in new[] { "json", "ancestry", "layer", "files" })
            (await Client.GetAsync($"/v1/images/{id}/{file}").ReadAsync()).Should().Be((404, "{\"error\": \"Image not found\"}"));
        (await Client.PutLayerAsync(id, [1]).ReadAsync()).Should().Be((404, "{\"error\": \"Image not found\"}"));
        (await Client.PutChecksumAsync(id, "sha256:00").ReadAsync()).Should().Be((404, "{\"error\": \"Image not found\"}"));
    }

    [TestCase("not json", "Invalid JSON")]
    [TestCase("[1]", "Invalid JSON")]
    [TestCase("{}", "Invalid JSON")]
    [TestCase("{\"created\": 1}", "Missing key `id' in JSON")]
    [TestCase("{\"id\": \"0000000000000000000000000000000000000000000000000000000000000000\"}", "JSON data contains invalid id")]
    public async Task Bad_image_json_answers_400(string body, string message)
    {
        var id = V1Client.NewImageId();
        (await Client.PutJsonAsync(id, body).ReadAsync()).Should().Be((400, $"{{\"error\": \"{message.Replace("`", "`")}\"}}"));
        (await Client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Status.Should().Be(404);
    }

    [Test]
    public async Task Invalid_utf8_json_answers_400()
    {
        var id = V1Client.NewImageId();
        var content = new ByteArrayContent([(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}']);
        (await Client.PutAsync($"/v1/images/{id}/json", content).ReadAsync()).Should().Be((400, "{\"error\": \"Invalid JSON\"}"));
    }

    [Test]
    public async Task Image_with_missing_parent_answers_400()
    {
        var id = V1Client.NewImageId();
        (await Client.PutJsonAsync(id, V1Client.ImageJson(id, V1Client.NewImageId())).ReadAsync())
            .Should().Be((400, "{\"error\": \"Image depends on a non existing parent\"}"));
    }

    [Test]
    public async Task Checksum_header_rules()
    {
        var id = V1Client.NewImageId();
        var json = V1Client.ImageJson(id);
        await Client.PutJsonAsync(id, json);

        var noHeader = await Client.PutAsync($"/v1/images/{id}/checksum", null).ReadAsync();
        noHeader.Should().Be((412, "{\"error\": \"X-Docker-Checksum-Payload not set.  If you are using the Docker daemon, you should upgrade to version 0.10 or later\"}"));
        (await Client.PutChecksumAsync(id, "sha256:abc").ReadAsync()).Should().Be((400, "{\"error\": \"Checksum mismatch\"}"));

        await Client.PutLayerAsync(id, [1, 2]);
        (await Client.PutChecksumAsync(id, V1Client.PayloadChecksum(json, [1, 2, 3])).ReadAsync()).Should().Be((400, "{\"error\": \"Checksum mismatch\"}"));
        (await Client.PutChecksumAsync(id, V1Client.PayloadChecksum(json, [1, 2])).ReadAsync()).Should().Be((200, "true"));
    }

    [Test]
    public async Task Retried_json_restarts_an_unfinished_upload()
    {
        var id = V1Client.NewImageId();
        var json = V1Client.ImageJson(id);
        await Client.PutJsonAsync(id, json);
        await Client.PutLayerAsync(id, [1]);
        (await Client.PutJsonAsync(id, json).ReadAsync()).Should().Be((200, "true"));
        (await Client.PutChecksumAsync(id, V1Client.PayloadChecksum(json, [1])).ReadAsync()).Should().Be((400, "{\"error\": \"Checksum mismatch\"}"));
        await Client.PushImageAsync(id, [5, 6]);
    }

    [Test]
    public async Task Layer_upload_from_docker_older_than_0_10_is_refused()
    {
        var id = V1Client.NewImageId();
        await Client.PutJsonAsync(id, V1Client.ImageJson(id));
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/layer") { Content = new ByteArrayContent([1]) };
        request.Headers.TryAddWithoutValidation("User-Agent", "docker/0.9.1 go/go1.2 os/linux");
        (await Client.SendAsync(request).ReadAsync()).Should().Be((412, "{\"error\": \"This endpoint does not support Docker daemons older than 0.10\"}"));
    }

    [TestCase("bytes=0-9", 206, "bytes 0-9/100", 10)]
    [TestCase("bytes=90-", 206, "bytes 90-99/100", 10)]
    [TestCase("bytes=50-1000", 206, "bytes 50-99/100", 50)]
    [TestCase("bytes=99-99", 206, "bytes 99-99/100", 1)]
    [TestCase("bytes=-10", 200, null, 100)]
    [TestCase("bytes=0-1,5-6", 200, null, 100)]
    [TestCase("garbage", 200, null, 100)]
    public async Task Layer_ranges(string range, int status, string? contentRange, int length)
    {
        var id = V1Client.NewImageId();
        var layer = V1Client.RandomBytes(100);
        await Client.PushImageAsync(id, layer);
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/images/{id}/layer");
        request.Headers.TryAddWithoutValidation("Range", range);
        using var response = await Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(status);
        response.Content.Headers.ContentRange?.ToString().Should().Be(contentRange);
        var body = await response.Content.ReadAsByteArrayAsync();
        body.Length.Should().Be(length);
        if (contentRange is not null)
        {
            var first = int.Parse(contentRange.Split(' ', '-')[1]);
            body.Should().Equal(layer.Skip(first).Take(length));
        }
        response.Header("Accept-Ranges").Should().Be("bytes");
    }

    [TestCase("bytes=100-100")]
    [TestCase("bytes=200-")]
    [TestCase("bytes=10-5")]
    public async Task Unsatisfiable_range_answers_416_with_empty_body(string range)
    {
        var id = V1Client.NewImageId();
        await Client.PushImageAsync(id, V1Client.RandomBytes(100));
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/images/{id}/layer");
        request.Headers.TryAddWithoutValidation("Range", range);
        using var response = await Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(416);
        response.Content.Headers.ContentLength.Should().Be(0);
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task Empty_layer_answers_200_with_empty_body()
    {
        var id = V1Client.NewImageId();
        await Client.PushImageAsync(id, []);
        using var response = await Client.GetAsync($"/v1/images/{id}/layer");
        ((int)response.StatusCode).Should().Be(200);
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task Head_on_layer_gives_headers_without_body()
    {
        var id = V1Client.NewImageId();
        await Client.PushImageAsync(id, V1Client.RandomBytes(1234));
        using var response = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v1/images/{id}/layer"));
        ((int)response.StatusCode).Should().Be(200);
        response.Content.Headers.ContentLength.Should().Be(1234);
    }

    [Test]
    public async Task Put_ancestry_is_not_allowed()
    {
        using var response = await Client.PutAsync($"/v1/images/{V1Client.NewImageId()}/ancestry", new StringContent("[]"));
        ((int)response.StatusCode).Should().Be(405);
    }

    [Test]
    public async Task Files_lists_tar_members_of_a_gzip_layer()
    {
        var id = V1Client.NewImageId();
        await Client.PushImageAsync(id, TarBuilder.GzipTar(("./etc/", null), ("./etc/hosts", "127.0.0.1 localhost\n"), ("./.wh.gone", "")));
        var (status, body) = await Client.GetAsync($"/v1/images/{id}/files").ReadAsync();
        status.Should().Be(200);
        body.Should().Be("[[\"/etc/\", \"d\", false, 0, 1400000000, 493, 0, 0], [\"/etc/hosts\", \"f\", false, 20, 1400000000, 420, 0, 0], [\"/gone\", \"f\", true, 0, 1400000000, 420, 0, 0]]");
        (await Client.GetAsync($"/v1/images/{id}/files").ReadAsync()).Body.Should().Be(body);
    }

    [Test]
    public async Task Files_of_a_layer_that_is_not_a_tar_answers_400()
    {
        var id = V1Client.NewImageId();
        await Client.PushImageAsync(id, Encoding.UTF8.GetBytes(new string('x', 2000)));
        (await Client.GetAsync($"/v1/images/{id}/files").ReadAsync()).Should().Be((400, "{\"error\": \"Layer format not supported\"}"));
    }

    [Test]
    public async Task Layer_upload_is_streamed_without_content_length()
    {
        var id = V1Client.NewImageId();
        var json = V1Client.ImageJson(id);
        await Client.PutJsonAsync(id, json);
        var layer = V1Client.RandomBytes(3 * 1024 * 1024);
        var content = new StreamContent(new NonSeekableStream(layer));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/layer") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        (await Client.SendAsync(request).ReadAsync()).Should().Be((200, "true"));
        (await Client.PutChecksumAsync(id, V1Client.PayloadChecksum(json, layer)).ReadAsync()).Should().Be((200, "true"));
    }

    [Test]
    public async Task Client_that_disconnects_mid_layer_leaves_no_layer_and_the_image_in_progress()
    {
        var id = V1Client.NewImageId();
        var json = V1Client.ImageJson(id);
        await Client.PutJsonAsync(id, json);

        var content = new StreamContent(new FailingStream(bytesBeforeFailure: 256 * 1024));
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/layer") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        // The in-process server may never answer a request whose body broke; do not wait HttpClient's 100 s for it.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var act = async () => await Client.SendAsync(request, timeout.Token);
        await act.Should().ThrowAsync<Exception>();

        // The server notices the broken body asynchronously; give it a bounded moment to discard the temp file.
        var dir = Path.Combine(Registry.StorageRoot, "images", id);
        for (var i = 0; i < 50 && Directory.GetFiles(dir).Length != 3; i++) await Task.Delay(100);
        Directory.GetFiles(dir).Select(Path.GetFileName).Should().BeEquivalentTo("json", "ancestry", "_inprogress");
        (await Client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Status.Should().Be(400);

        await Client.PushImageAsync(id, [1, 2, 3]);
    }

    [Test]
    public async Task Concurrent_pushes_of_one_image_end_complete_and_consistent()
    {
        var id = V1Client.NewImageId();
        var json = V1Client.ImageJson(id);
        var layers = Enumerable.Range(0, 6).Select(i => V1Client.RandomBytes(50_000 + i)).ToArray();
        var outcomes = await Task.WhenAll(layers.Select(async layer =>
        {
            var statuses = new List<int>();
            foreach (var step in new Func<Task<HttpResponseMessage>>[]
                     {
                         () => Client.PutJsonAsync(id, json),
                         () => Client.PutLayerAsync(id, layer),
                         () => Client.PutChecksumAsync(id, V1Client.PayloadChecksum(json, layer)),
                     })
            {
                using var response = await step();
                statuses.Add((int)response.StatusCode);
            }
            return statuses;
        }));

        outcomes.SelectMany(s => s).Should().OnlyContain(s => s == 200 || s == 400 || s == 409);
        outcomes.Count(s => s[2] == 200).Should().BeGreaterThan(0);
        using var stored = await Client.GetAsync($"/v1/images/{id}/json");
        ((int)stored.StatusCode).Should().Be(200);
        var body = await Client.GetByteArrayAsync($"/v1/images/{id}/layer");
        stored.Header("X-Docker-Checksum-Payload").Should().Be(V1Client.PayloadChecksum(json, body));
        layers.Should().ContainSingle(l => l.SequenceEqual(body));
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    private sealed class FailingStream(int bytesBeforeFailure) : Stream
    {
        private int _sent;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _sent; set => throw new NotSupportedException(); }
        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_sent >= bytesBeforeFailure) throw new IOException("simulated client crash");
            var n = Math.Min(count, bytesBeforeFailure - _sent);
            Array.Fill(buffer, (byte)0x42, offset, n);
            _sent += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
