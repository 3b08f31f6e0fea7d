using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// The registry (in-process) on the s3 flavors against a real S3 (Ceph RGW): the docker push/pull sequence,
/// storage_redirect, and what clients get when the store fails (503, nothing visible as complete).
/// </summary>
[TestFixture]
[Category("s3")]
public sealed class S3RegistryTests() : S3BucketTestBase("registry")
{
    private const string Unavailable = "{\"error\": \"Storage unavailable, retry later\"}";

    // An empty search index is rebuilt from storage at start-up, which needs a working store.
    private static readonly (string, string) NoSearch = ("SEARCH_BACKEND", "");

    private TestRegistry Start(string flavor, string bucket, string storagePath, params (string Name, string Value)[] extra) =>
        TestRegistry.Start(Rgw.RegistryEnvironment(flavor, bucket, storagePath, extra));

    private Task<List<string>> KeysAsync(string bucket, string prefix) => Rgw.KeysAsync(bucket, prefix);

    private async Task<List<MultipartUpload>> PendingUploadsAsync(string bucket, string prefix) =>
        (await S3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = bucket, Prefix = prefix })).MultipartUploads ?? [];

    [Test]
    public async Task Push_then_pull_on_the_s3_flavor_stores_the_original_layout_under_the_prefix()
    {
        var prefix = "reg-" + Guid.NewGuid().ToString("N")[..8];
        await using var registry = Start("s3", Bucket, "/" + prefix);
        var client = registry.Client;
        var (a, b) = (V1Client.NewImageId(), V1Client.NewImageId());
        var layerA = V1Client.RandomBytes(100_000);
        // Two full multipart parts and a bit: the streaming upload path.
        var layerB = V1Client.RandomBytes(2 * Registry.Core.Storage.S3StorageDriver.PartSize + 4321);

        var index = $"[{{\"id\":\"{a}\"}},{{\"id\":\"{b}\",\"Tag\":\"latest\"}}]";
        (await client.PutIndexAsync("/v1/repositories/team/app/", index).ReadAsync()).Status.Should().Be(200);
        await client.PushImageAsync(a, layerA);
        await client.PushImageAsync(b, layerB, parent: a);
        (await client.PutTagAsync("team/app", "latest", b).ReadAsync()).Should().Be((200, "true"));
        (await client.PutIndexAsync("/v1/repositories/team/app/images", "[]").ReadAsync()).Status.Should().Be(204);

        (await client.GetAsync("/v1/repositories/team/app/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{b}\"}}"));
        (await client.GetAsync($"/v1/images/{b}/ancestry").ReadAsync()).Should().Be((200, $"[\"{b}\", \"{a}\"]"));
        foreach (var (id, layer) in new[] { (a, layerA), (b, layerB) })
        {
            using var json = await client.GetAsync($"/v1/images/{id}/json");
            ((int)json.StatusCode).Should().Be(200);
            json.Header("X-Docker-Size").Should().Be(layer.Length.ToString());
            (await client.GetByteArrayAsync($"/v1/images/{id}/layer")).Should().Equal(layer);
        }
        var resume = new HttpRequestMessage(HttpMethod.Get, $"/v1/images/{b}/layer");
        resume.Headers.TryAddWithoutValidation("Range", $"bytes={layerB.Length - 1000}-");
        using (var partial = await client.SendAsync(resume))
        {
            ((int)partial.StatusCode).Should().Be(206);
            partial.Content.Headers.ContentRange!.ToString().Should().Be($"bytes {layerB.Length - 1000}-{layerB.Length - 1}/{layerB.Length}");
            (await partial.Content.ReadAsByteArrayAsync()).Should().Equal(layerB[^1000..]);
        }
        var (status, body) = await client.GetAsync("/v1/search?q=app").ReadAsync();
        status.Should().Be(200);
        using (var doc = JsonDocument.Parse(body))
        {
            doc.RootElement.GetProperty("num_results").GetInt32().Should().Be(1);
            doc.RootElement.GetProperty("results")[0].GetProperty("name").GetString().Should().Be("team/app");
        }

        (await KeysAsync(Bucket, $"{prefix}/images/{b}/")).Should().BeEquivalentTo("json", "layer", "ancestry", "_checksum");
        (await KeysAsync(Bucket, $"{prefix}/repositories/team/app/")).Should().BeEquivalentTo("_index_images", "tag_latest", "taglatest_json", "json");
        (await PendingUploadsAsync(Bucket, prefix + "/")).Should().BeEmpty();
    }

    [Test]
    public async Task Prod_keeps_everything_under_prod_and_another_process_serves_it_from_the_bucket()
    {
        var bucket = await Rgw.CreateBucketAsync("prod");
        var id = V1Client.NewImageId();
        var layer = V1Client.RandomBytes(5000);
        var env = Rgw.FlavorEnvironment(bucket, "");
        env["SETTINGS_FLAVOR"] = "prod";
        // Unset, so the flavor's own default applies: storage_path /prod.
        env["STORAGE_PATH"] = null;
        await using (var first = await RegistryProcess.StartAsync(env))
        {
            await first.Client.PushImageAsync(id, layer);
            (await first.Client.PutTagAsync("app", "v1", id).ReadAsync()).Status.Should().Be(200);
        }
        (await KeysAsync(bucket, "")).Should().BeEquivalentTo(
            $"prod/images/{id}/json", $"prod/images/{id}/layer", $"prod/images/{id}/ancestry", $"prod/images/{id}/_checksum",
            "prod/repositories/library/app/tag_v1", "prod/repositories/library/app/tagv1_json");

        // Another process with an empty search database of its own finds the repository in the bucket.
        await using var second = await RegistryProcess.StartAsync(env);
        (await second.Client.GetAsync("/v1/repositories/app/tags/v1").ReadAsync()).Should().Be((200, $"\"{id}\""));
        (await second.Client.GetByteArrayAsync($"/v1/images/{id}/layer")).Should().Equal(layer);
        var (_, search) = await second.Client.GetAsync("/v1/search?q=app").ReadAsync();
        search.Should().Contain("\"name\": \"library/app\"");
    }

    [Test]
    public async Task Storage_redirect_answers_302_to_a_presigned_url_that_serves_the_layer()
    {
        var prefix = "redirect-" + Guid.NewGuid().ToString("N")[..8];
        await using var registry = Start("ceph-s3", Bucket, prefix, ("STORAGE_REDIRECT", "true"));
        var id = V1Client.NewImageId();
        var layer = V1Client.RandomBytes(30_000);
        await registry.Client.PushImageAsync(id, layer);

        using var response = await registry.Client.GetAsync($"/v1/images/{id}/layer");

        ((int)response.StatusCode).Should().Be(302);
        var location = response.Headers.Location!;
        location.IsAbsoluteUri.Should().BeTrue();
        location.GetLeftPart(UriPartial.Path).Should().Be($"http://127.0.0.1:{Rgw.Port}/{Bucket}/{prefix}/images/{id}/layer");
        // 20 minutes, give or take the second that passes while the SDK signs.
        location.Query.Should().MatchRegex("X-Amz-Expires=(1200|1201)&").And.Contain("X-Amz-Signature=");
        using var direct = new HttpClient();
        (await direct.GetByteArrayAsync(location)).Should().Equal(layer);
        // The checks before the redirect keep their order: unknown images and uploads in progress never redirect.
        (await registry.Client.GetAsync($"/v1/images/{V1Client.NewImageId()}/layer").ReadAsync())
            .Should().Be((404, "{\"error\": \"Image not found\"}"));
        var uploading = V1Client.NewImageId();
        (await registry.Client.PutJsonAsync(uploading, V1Client.ImageJson(uploading)).ReadAsync()).Status.Should().Be(200);
        (await registry.Client.GetAsync($"/v1/images/{uploading}/layer").ReadAsync())
            .Should().Be((400, "{\"error\": \"Image is being uploaded, retry later\"}"));
    }

    [Test]
    public async Task Wrong_credentials_are_a_503_with_a_json_error_and_write_nothing()
    {
        var prefix = "creds-" + Guid.NewGuid().ToString("N")[..8];
        await using var registry = Start("s3", Bucket, prefix, ("AWS_SECRET", "not-the-secret"), NoSearch);
        var id = V1Client.NewImageId();

        (await registry.Client.PutJsonAsync(id, V1Client.ImageJson(id)).ReadAsync()).Should().Be((503, Unavailable));
        (await registry.Client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Should().Be((503, Unavailable));
        (await registry.Client.GetAsync("/v1/repositories/team/app/tags").ReadAsync()).Should().Be((503, Unavailable));
        (await registry.Client.GetAsync("/v1/_ping").ReadAsync()).Status.Should().Be(200);
        (await KeysAsync(Bucket, prefix + "/")).Should().BeEmpty();
    }

    [Test]
    public async Task A_missing_bucket_is_a_503_with_a_json_error()
    {
        await using var registry = Start("s3", "no-such-bucket-" + Guid.NewGuid().ToString("N")[..8], "/registry", NoSearch);
        var id = V1Client.NewImageId();

        (await registry.Client.PutJsonAsync(id, V1Client.ImageJson(id)).ReadAsync()).Should().Be((503, Unavailable));
        (await registry.Client.GetAsync($"/v1/images/{id}/json").ReadAsync()).Should().Be((503, Unavailable));
        // HEAD answers carry no error code: the driver asks for the bucket once before calling a 404 "absent".
        (await registry.Client.PutTagAsync("team/app", "latest", id).ReadAsync()).Should().Be((503, Unavailable));
        (await registry.Client.GetAsync($"/v1/images/{id}/layer").ReadAsync()).Should().Be((503, Unavailable));
    }

    [Test]
    public async Task A_connection_reset_mid_upload_is_a_503_and_leaves_the_image_uploading_with_no_parts_behind()
    {
        var prefix = "reset-" + Guid.NewGuid().ToString("N")[..8];
        // Connections that carry more than 1 MiB towards S3 are reset: small requests pass, layer parts never do.
        await using var proxy = ResettingProxy.Start(Rgw.Port, resetAfterBytes: 1 << 20);
        var env = Rgw.FlavorEnvironment(Bucket, prefix);
        env["AWS_PORT"] = proxy.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var registry = TestRegistry.Start(new Dictionary<string, string>(
            env.Select(kv => KeyValuePair.Create(kv.Key, kv.Value!)).Append(KeyValuePair.Create("SETTINGS_FLAVOR", "s3"))));
        var id = V1Client.NewImageId();
        (await registry.Client.PutJsonAsync(id, V1Client.ImageJson(id)).ReadAsync()).Status.Should().Be(200);

        var (status, body) = await registry.Client.PutLayerAsync(id, V1Client.RandomBytes(3 * Registry.Core.Storage.S3StorageDriver.PartSize)).ReadAsync();

        (status, body).Should().Be((503, Unavailable));
        proxy.Resets.Should().BeGreaterThan(0);
        (await registry.Client.GetAsync($"/v1/images/{id}/layer").ReadAsync())
            .Should().Be((400, "{\"error\": \"Image is being uploaded, retry later\"}"));
        (await KeysAsync(Bucket, $"{prefix}/images/{id}/")).Should().BeEquivalentTo("_inprogress", "json", "ancestry");
        (await PendingUploadsAsync(Bucket, prefix + "/")).Should().BeEmpty();
    }

    /// <summary>A TCP forwarder to S3 that resets every connection once it has carried a set number of request bytes.</summary>
    private sealed class ResettingProxy : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly int _target;
        private readonly long _resetAfter;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;
        private int _resets;

        private ResettingProxy(int target, long resetAfter)
        {
            _target = target;
            _resetAfter = resetAfter;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Resets => Volatile.Read(ref _resets);

        public static ResettingProxy Start(int target, long resetAfterBytes) => new(target, resetAfterBytes);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            try
            {
                await _accepting;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = ForwardAsync(client);
            }
        }

        private async Task ForwardAsync(TcpClient client)
        {
            using var _ = client;
            using var upstream = new TcpClient();
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
                var toClient = upstream.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
                var buffer = new byte[64 * 1024];
                long sent = 0;
                var fromClient = client.GetStream();
                while (true)
                {
                    var n = await fromClient.ReadAsync(buffer, _stop.Token);
                    if (n == 0) break;
                    sent += n;
                    if (sent > _resetAfter)
                    {
                        Interlocked.Increment(ref _resets);
                        // Linger 0: close sends RST, as a dropped connection would.
                        client.Client.LingerState = new LingerOption(true, 0);
                        upstream.Client.LingerState = new LingerOption(true, 0);
                        return;
                    }
                    await upstream.GetStream().WriteAsync(buffer.AsMemory(0, n), _stop.Token);
                }
                await toClient;
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Either side went away; the other is closed with it.
            }
        }
    }
}
