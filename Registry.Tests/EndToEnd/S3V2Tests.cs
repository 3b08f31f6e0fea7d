using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Amazon.S3;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// The v2 API on the s3 flavor against a real S3 (Ceph RGW): a chunked blob upload (two chunks, so the commit
/// joins parts), a manifest push, pulls by tag and digest, catalog and search, and deletion, with the objects
/// landing in the Go registry's layout under the storage prefix.
/// </summary>
[TestFixture]
[Category("s3")]
public sealed class S3V2Tests() : S3BucketTestBase("registry-v2")
{
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";

    [Test]
    public async Task Push_pull_list_search_and_delete_over_v2_on_s3()
    {
        var prefix = "v2-" + Guid.NewGuid().ToString("N")[..8];
        await using var registry = TestRegistry.Start(Rgw.RegistryEnvironment("s3", Bucket, "/" + prefix, ("REGISTRY_STORAGE_DELETE_ENABLED", "true")));
        var client = registry.Client;

        // A layer in two chunks larger than one multipart part: the commit streams the join through a hash.
        var layer = RandomNumberGenerator.GetBytes(Registry.Core.Storage.S3StorageDriver.PartSize + 12345);
        var layerDigest = Sha256(layer);
        using (var post = await client.PostAsync("/v2/team/app/blobs/uploads/", new ByteArrayContent([])))
        {
            ((int)post.StatusCode).Should().Be(202);
            var location = post.Headers.Location!.OriginalString;
            var split = layer.Length / 2;
            location = await PatchAsync(client, location, layer[..split], $"0-{split - 1}", 202, $"0-{split - 1}");
            location = await PatchAsync(client, location, layer[split..], $"{split}-{layer.Length - 1}", 202, $"0-{layer.Length - 1}");
            using var put = await client.PutAsync($"{location}{(location.Contains('?') ? '&' : '?')}digest={layerDigest}", new ByteArrayContent([]));
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
        }

        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
        using (var put = await client.PostAsync($"/v2/team/app/blobs/uploads/?digest={Sha256(config)}", new ByteArrayContent(config)))
            ((int)put.StatusCode).Should().Be(201);

        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\"," +
            $"\"digest\":\"{Sha256(config)}\",\"size\":{config.Length}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\"," +
            $"\"digest\":\"{layerDigest}\",\"size\":{layer.Length}}}]}}");
        var manifestContent = new ByteArrayContent(manifest);
        manifestContent.Headers.ContentType = new MediaTypeHeaderValue(OciManifest);
        using (var put = await client.PutAsync("/v2/team/app/manifests/latest", manifestContent))
        {
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
            put.Header("Docker-Content-Digest").Should().Be(Sha256(manifest));
        }

        (await client.GetByteArrayAsync("/v2/team/app/manifests/latest")).Should().Equal(manifest);
        (await client.GetByteArrayAsync($"/v2/team/app/manifests/{Sha256(manifest)}")).Should().Equal(manifest);
        (await client.GetByteArrayAsync($"/v2/team/app/blobs/{layerDigest}")).Should().Equal(layer);
        (await client.GetAsync("/v2/_catalog").ReadAsync()).Body.Should().Be("{\"repositories\":[\"team/app\"]}");
        (await client.GetAsync("/v1/search?q=team").ReadAsync()).Body.Should().Contain("\"name\": \"team/app\"");

        var keys = await Rgw.KeysAsync(Bucket, $"{prefix}/docker/registry/v2/");
        keys.Should().Contain($"blobs/sha256/{layerDigest[7..9]}/{layerDigest[7..]}/data");
        keys.Should().Contain($"repositories/team/app/_layers/sha256/{layerDigest[7..]}/link");
        keys.Should().Contain($"repositories/team/app/_manifests/tags/latest/current/link");
        keys.Should().NotContain(k => k.Contains("/_uploads/"), "the session is removed after its commit");

        using (var delete = await client.DeleteAsync($"/v2/team/app/manifests/{Sha256(manifest)}"))
            ((int)delete.StatusCode).Should().Be(202);
        (await client.GetAsync("/v2/team/app/manifests/latest")).StatusCode.Should().Be(System.Net.HttpStatusCode.NotFound);
        (await client.GetAsync("/v1/search?q=team").ReadAsync()).Body.Should().Contain("\"num_results\": 0");
    }

    [Test]
    public async Task A_patch_of_declared_length_that_stalls_is_408_keeps_nothing_and_one_that_arrives_whole_is_kept()
    {
        var prefix = "/v2-declared-" + Guid.NewGuid().ToString("N")[..8];
        var env = Rgw.FlavorEnvironment(Bucket, prefix);
        env["SETTINGS_FLAVOR"] = "s3";
        env["BODY_IDLE_TIMEOUT"] = "2";
        await using var server = await RegistryProcess.StartAsync(env);
        using var started = await server.Client.PostAsync("/v2/team/declared/blobs/uploads/", null);
        ((int)started.StatusCode).Should().Be(202);
        var location = started.Headers.Location!.OriginalString;

        // The driver streams a body of declared length into one PutObject; the client stopping midway is its 408, not a store failure.
        var head = $"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {4 << 20}\r\n\r\n";
        var (answer, elapsed) = await RawHttp.StallAsync(server.Port, [.. Encoding.ASCII.GetBytes(head), .. RandomNumberGenerator.GetBytes(1 << 20)]);
        answer.Should().StartWith("HTTP/1.1 408 Request Timeout\r\n");
        RawHttp.Body(answer).Should().Be(
            "{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"Bad request: Reading the request body timed out: no data arrived for 2 s\"}]}");
        elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10));
        using (var status = await server.Client.GetAsync(location))
        {
            ((int)status.StatusCode).Should().Be(204);
            status.Header("Range").Should().Be("0-0");
        }
        (await Rgw.KeysAsync(Bucket, prefix[1..] + "/")).Should().NotContain(k => k.EndsWith("/data", StringComparison.Ordinal));

        var layer = RandomNumberGenerator.GetBytes(4 << 20);
        var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(layer) };
        using (var patch = await server.Client.SendAsync(request))
        {
            ((int)patch.StatusCode).Should().Be(202, await patch.Content.ReadAsStringAsync());
            patch.Header("Range").Should().Be($"0-{layer.Length - 1}");
            location = patch.Headers.Location!.OriginalString;
        }
        using (var put = await server.Client.PutAsync($"{location}{(location.Contains('?') ? '&' : '?')}digest={Sha256(layer)}", new ByteArrayContent([])))
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
        (await server.Client.GetByteArrayAsync($"/v2/team/declared/blobs/{Sha256(layer)}")).Should().Equal(layer);
    }

    [TestCase(5)]
    [TestCase(12)]
    public async Task A_chunked_patch_whose_body_is_not_the_declared_range_is_400_size_invalid_and_keeps_nothing(int sent)
    {
        var prefix = "v2-range-" + Guid.NewGuid().ToString("N")[..8];
        await using var registry = TestRegistry.Start(Rgw.RegistryEnvironment("s3", Bucket, "/" + prefix));
        using var started = await registry.Client.PostAsync("/v2/team/range/blobs/uploads/", new ByteArrayContent([]));
        var location = started.Headers.Location!.OriginalString;

        // A body of unknown length goes chunked, so only the Content-Range declares it: the driver finds the difference.
        var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new StreamContent(new ChunkedStream(new byte[sent], 4)) };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", "0-9");
        using var patch = await registry.Client.SendAsync(request);

        ((int)patch.StatusCode).Should().Be(400);
        (await patch.Content.ReadAsStringAsync()).Should().Be(V2.V2Blobs.Envelope("SIZE_INVALID", "provided length did not match content length"));
        using (var status = await registry.Client.GetAsync(location))
            status.Header("Range").Should().Be("0-0");
        (await Rgw.KeysAsync(Bucket, prefix + "/")).Should().NotContain(k => k.EndsWith("/data", StringComparison.Ordinal));
    }

    private static async Task<string> PatchAsync(HttpClient client, string location, byte[] chunk, string contentRange, int status, string range)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(chunk) };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
        using var response = await client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(status, await response.Content.ReadAsStringAsync());
        response.Header("Range").Should().Be(range);
        return response.Headers.Location!.OriginalString;
    }

    private static string Sha256(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
}
