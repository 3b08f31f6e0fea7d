using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V2;

/// <summary>
/// The OCI distribution-spec conformance suite re-expressed as HTTP exchanges against the real app, in the
/// suite's order: pull, push, content discovery, content management and the additional
/// checks of the redesigned suite. Deletes are enabled, as the management group requires.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class OciConformanceTests
{
    private const string Repo1 = "conformance/repo1";
    private const string Repo2 = "conformance/repo2";
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";

    private TestRegistry _registry = null!;
    private HttpClient Client => _registry.Client;

    [SetUp]
    public void Start() => _registry = TestRegistry.Start(new Dictionary<string, string> { ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true" });

    [TearDown]
    public async Task StopAsync() => await _registry.DisposeAsync();

    [Test]
    public async Task Pull()
    {
        var config1 = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        var config2 = Encoding.UTF8.GetBytes("{\"architecture\":\"arm64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        var layer = RandomNumberGenerator.GetBytes(1024);
        foreach (var blob in new[] { config1, config2, layer }) (await PushMonolithicAsync(Repo1, blob)).Should().Be(201);
        var manifest1 = Manifest(config1, layer);
        var manifest2 = Manifest(config2, layer);
        (await PutManifestAsync(Repo1, "tagtest0", manifest1)).Status.Should().Be(201);
        (await PutManifestAsync(Repo1, Sha256(manifest2), manifest2)).Status.Should().Be(201);

        (await SendAsync(HttpMethod.Head, $"/v2/{Repo1}/blobs/{Sha256(RandomNumberGenerator.GetBytes(8))}")).Status.Should().Be(404);
        var head = await SendAsync(HttpMethod.Head, $"/v2/{Repo1}/blobs/{Sha256(layer)}");
        head.Status.Should().Be(200);
        head.Headers["Docker-Content-Digest"].Should().Be(Sha256(layer));
        head.Headers["Content-Length"].Should().Be("1024");
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/blobs/{Sha256(RandomNumberGenerator.GetBytes(8))}")).Status.Should().Be(404);
        var get = await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/blobs/{Sha256(layer)}");
        get.Status.Should().Be(200);
        get.Body.Should().Equal(layer);

        (await SendAsync(HttpMethod.Head, $"/v2/{Repo1}/manifests/{Sha256(RandomNumberGenerator.GetBytes(8))}")).Status.Should().Be(404);
        foreach (var m in new[] { manifest1, manifest2 })
        {
            var byDigest = await SendAsync(HttpMethod.Head, $"/v2/{Repo1}/manifests/{Sha256(m)}", accept: OciManifest);
            byDigest.Status.Should().Be(200);
            byDigest.Headers["Docker-Content-Digest"].Should().Be(Sha256(m));
            byDigest.Headers["Content-Type"].Should().Be(OciManifest);
            byDigest.Headers["Content-Length"].Should().Be(m.Length.ToString());
            byDigest.Body.Should().BeEmpty();
            var body = await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/manifests/{Sha256(m)}", accept: OciManifest);
            body.Status.Should().Be(200);
            body.Body.Should().Equal(m);
        }
        var byTag = await SendAsync(HttpMethod.Head, $"/v2/{Repo1}/manifests/tagtest0", accept: OciManifest);
        byTag.Status.Should().Be(200);
        byTag.Headers["Docker-Content-Digest"].Should().Be(Sha256(manifest1));
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/manifests/tagtest0", accept: OciManifest)).Body.Should().Equal(manifest1);
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/manifests/no-such-tag")).Status.Should().Be(404);

        var bad = await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/manifests/sha256:totallywrong");
        bad.Status.Should().Be(400);
        ErrorCodes(bad.Body).Should().Equal("DIGEST_INVALID");

        (await SendAsync(HttpMethod.Delete, $"/v2/{Repo1}/manifests/{Sha256(manifest2)}")).Status.Should().Be(202);
        (await SendAsync(HttpMethod.Delete, $"/v2/{Repo1}/blobs/{Sha256(layer)}")).Status.Should().Be(202);
    }

    [Test]
    public async Task Push()
    {
        var blob = RandomNumberGenerator.GetBytes(4096);
        var digest = Sha256(blob);

        // stream: POST, PATCH the whole blob without Content-Range, PUT ?digest= with an empty body
        var session = await PostSessionAsync(Repo1);
        var patch = await SendAsync(HttpMethod.Patch, session, blob, chunked: true);
        patch.Status.Should().Be(202);
        patch.Headers["Range"].Should().Be("0-4095");
        var put = await SendAsync(HttpMethod.Put, WithDigest(patch.Headers["Location"]!, digest), []);
        put.Status.Should().Be(201);
        put.Headers["Location"].Should().Be($"/v2/{Repo1}/blobs/{digest}");
        put.Headers["Docker-Content-Digest"].Should().Be(digest);

        // monolithic
        var other = RandomNumberGenerator.GetBytes(300);
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/blobs/{Sha256(other)}")).Status.Should().Be(404);
        var postDigest = await SendAsync(HttpMethod.Post, $"/v2/{Repo1}/blobs/uploads/?digest={Sha256(other)}", other);
        postDigest.Status.Should().BeOneOf(201, 202);
        if (postDigest.Status == 201) (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/blobs/{Sha256(other)}")).Body.Should().Equal(other);
        var third = RandomNumberGenerator.GetBytes(777);
        var monolithic = await SendAsync(HttpMethod.Put, WithDigest(await PostSessionAsync(Repo1), Sha256(third)), third);
        monolithic.Status.Should().Be(201);
        (await SendAsync(HttpMethod.Get, monolithic.Headers["Location"]!)).Body.Should().Equal(third);

        // chunked: out of order, first, retry, status on the stale Location, second, close
        var chunked = RandomNumberGenerator.GetBytes(2000);
        var start = await PostSessionAsync(Repo1);
        (await SendAsync(HttpMethod.Patch, start, chunked[1000..], range: "1000-1999")).Status.Should().Be(416);
        var first = await SendAsync(HttpMethod.Patch, start, chunked[..1000], range: "0-999");
        first.Status.Should().Be(202);
        first.Headers["Range"].Should().Be("0-999");
        (await SendAsync(HttpMethod.Patch, start, chunked[..1000], range: "0-999")).Status.Should().Be(416);
        var status = await SendAsync(HttpMethod.Get, start);
        status.Status.Should().Be(204);
        status.Headers["Location"].Should().NotBeNull();
        status.Headers["Range"].Should().Be("0-999");
        var second = await SendAsync(HttpMethod.Patch, first.Headers["Location"]!, chunked[1000..], range: "1000-1999");
        second.Status.Should().Be(202);
        var close = await SendAsync(HttpMethod.Put, WithDigest(second.Headers["Location"]!, Sha256(chunked)), []);
        close.Status.Should().Be(201);
        close.Headers["Location"].Should().NotBeNull();
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/blobs/{Sha256(chunked)}")).Body.Should().Equal(chunked);

        // mounts
        var noFrom = await SendAsync(HttpMethod.Post, $"/v2/{Repo2}/blobs/uploads/?mount={Sha256(RandomNumberGenerator.GetBytes(8))}", []);
        noFrom.Status.Should().Be(202);
        noFrom.Headers["Location"].Should().StartWith($"/v2/{Repo2}/blobs/uploads/");
        var mount = await SendAsync(HttpMethod.Post, $"/v2/{Repo2}/blobs/uploads/?mount={digest}&from={Repo1}", []);
        mount.Status.Should().Be(201);
        mount.Headers["Location"].Should().Be($"/v2/{Repo2}/blobs/{digest}");
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo2}/blobs/{digest}")).Body.Should().Equal(blob);
        (await SendAsync(HttpMethod.Post, $"/v2/{Repo2}/blobs/uploads/?mount={digest}", [])).Status.Should().Be(202);

        // manifests
        var config = Encoding.UTF8.GetBytes("{}");
        (await PushMonolithicAsync(Repo1, config)).Should().Be(201);
        var manifest = Manifest(config, blob);
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/manifests/{Sha256(manifest)}")).Status.Should().Be(404);
        var putManifest = await PutManifestAsync(Repo1, "v1", manifest);
        putManifest.Status.Should().Be(201);
        putManifest.Headers["Location"].Should().Be($"/v2/{Repo1}/manifests/{Sha256(manifest)}");
        putManifest.Headers["Docker-Content-Digest"].Should().Be(Sha256(manifest));
        var noLayers = Manifest(config);
        (await PutManifestAsync(Repo1, "nolayers", noLayers)).Status.Should().Be(201);
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/manifests/{Sha256(manifest)}")).Status.Should().Be(200);

        // cancel
        var cancel = await PostSessionAsync(Repo1);
        (await SendAsync(HttpMethod.Delete, cancel)).Status.Should().Be(204);
        (await SendAsync(HttpMethod.Get, cancel)).Status.Should().Be(404);
    }

    [Test]
    public async Task Content_discovery_tags()
    {
        var config = Encoding.UTF8.GetBytes("{}");
        var layer = RandomNumberGenerator.GetBytes(64);
        await PushMonolithicAsync(Repo1, config);
        await PushMonolithicAsync(Repo1, layer);
        var tags = new[] { "test0", "test1", "test2", "test3" };
        foreach (var (tag, i) in tags.Select((t, i) => (t, i)))
            (await PutManifestAsync(Repo1, tag, Manifest(config, layer, annotation: tag))).Status.Should().Be(201);

        var all = await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/tags/list");
        all.Status.Should().Be(200);
        Encoding.UTF8.GetString(all.Body).Should().Be("{\"name\":\"conformance/repo1\",\"tags\":[\"test0\",\"test1\",\"test2\",\"test3\"]}");

        var page = await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/tags/list?n=2");
        Encoding.UTF8.GetString(page.Body).Should().Be("{\"name\":\"conformance/repo1\",\"tags\":[\"test0\",\"test1\"]}");
        page.Headers["Link"].Should().Be($"</v2/{Repo1}/tags/list?last=test1&n=2>; rel=\"next\"");
        var next = await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/tags/list?n=2&last=test1");
        Encoding.UTF8.GetString(next.Body).Should().Be("{\"name\":\"conformance/repo1\",\"tags\":[\"test2\",\"test3\"]}");
    }

    [Test]
    public async Task Content_management()
    {
        var config = Encoding.UTF8.GetBytes("{}");
        var layer = RandomNumberGenerator.GetBytes(64);
        await PushMonolithicAsync(Repo1, config);
        await PushMonolithicAsync(Repo1, layer);
        var manifest = Manifest(config, layer);
        (await PutManifestAsync(Repo1, "tagtest0", manifest)).Status.Should().Be(201);
        (await PutManifestAsync(Repo1, "tagtest1", manifest)).Status.Should().Be(201);

        (await SendAsync(HttpMethod.Delete, $"/v2/{Repo1}/manifests/tagtest0")).Status.Should().Be(202);
        (await SendAsync(HttpMethod.Head, $"/v2/{Repo1}/manifests/tagtest0")).Status.Should().Be(404);
        Encoding.UTF8.GetString((await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/tags/list")).Body)
            .Should().Be("{\"name\":\"conformance/repo1\",\"tags\":[\"tagtest1\"]}");

        (await SendAsync(HttpMethod.Delete, $"/v2/{Repo1}/manifests/{Sha256(manifest)}")).Status.Should().Be(202);
        (await SendAsync(HttpMethod.Head, $"/v2/{Repo1}/manifests/{Sha256(manifest)}")).Status.Should().Be(404);
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/manifests/{Sha256(manifest)}")).Status.Should().Be(404);
        (await SendAsync(HttpMethod.Head, $"/v2/{Repo1}/manifests/tagtest1")).Status.Should().Be(404);

        foreach (var blob in new[] { config, layer })
        {
            (await SendAsync(HttpMethod.Delete, $"/v2/{Repo1}/blobs/{Sha256(blob)}")).Status.Should().Be(202);
            (await SendAsync(HttpMethod.Head, $"/v2/{Repo1}/blobs/{Sha256(blob)}")).Status.Should().Be(404);
            (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/blobs/{Sha256(blob)}")).Status.Should().Be(404);
        }
    }

    [Test]
    public async Task Range_requests_on_a_2048_byte_blob()
    {
        var blob = RandomNumberGenerator.GetBytes(2048);
        await PushMonolithicAsync(Repo1, blob);
        var path = $"/v2/{Repo1}/blobs/{Sha256(blob)}";

        var a = await SendAsync(HttpMethod.Get, path, range: "bytes=500-1499", rangeHeader: "Range");
        a.Status.Should().Be(206);
        a.Headers["Content-Length"].Should().Be("1000");
        a.Headers["Content-Range"].Should().Be("bytes 500-1499/2048");
        a.Body.Should().Equal(blob[500..1500]);
        (await SendAsync(HttpMethod.Get, path, range: "bytes=500-", rangeHeader: "Range")).Body.Should().Equal(blob[500..]);
        (await SendAsync(HttpMethod.Get, path, range: "bytes=-500", rangeHeader: "Range")).Body.Should().Equal(blob[1548..]);
        (await SendAsync(HttpMethod.Get, path, range: "bytes=2000-5000", rangeHeader: "Range")).Body.Should().Equal(blob[2000..]);
        var beyond = await SendAsync(HttpMethod.Get, path, range: "bytes=5000-10000", rangeHeader: "Range");
        beyond.Status.Should().Be(416);
        beyond.Headers["Content-Range"].Should().Be("bytes */2048");
    }

    [Test]
    public async Task Sha512_blobs_keep_their_digest()
    {
        var blob = RandomNumberGenerator.GetBytes(1500);
        var digest = "sha512:" + Convert.ToHexStringLower(SHA512.HashData(blob));
        var put = await SendAsync(HttpMethod.Put, WithDigest(await PostSessionAsync(Repo1), digest), blob);
        put.Status.Should().Be(201);
        put.Headers["Docker-Content-Digest"].Should().Be(digest);
        var head = await SendAsync(HttpMethod.Head, $"/v2/{Repo1}/blobs/{digest}");
        head.Status.Should().Be(200);
        head.Headers["Docker-Content-Digest"].Should().Be(digest);
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/blobs/{digest}")).Body.Should().Equal(blob);
    }

    [Test]
    public async Task Manifest_errors()
    {
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/manifests/{Sha256(RandomNumberGenerator.GetBytes(8))}")).Status.Should().Be(404);
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/manifests/randomtag")).Status.Should().Be(404);
        var config = Encoding.UTF8.GetBytes("{}");
        await PushMonolithicAsync(Repo1, config);
        var bad = await PutManifestAsync(Repo1, "sha256:baddigeststring", Manifest(config));
        bad.Status.Should().Be(400);
        (await SendAsync(HttpMethod.Get, $"/v2/{Repo1}/manifests/sha256:baddigeststring")).Status.Should().BeOneOf(400, 404);
    }

    [Test]
    public async Task Empty_repository_answers()
    {
        (await SendAsync(HttpMethod.Get, "/v2/")).Status.Should().Be(200);
        (await SendAsync(HttpMethod.Get, "/v2/never/pushed/tags/list")).Status.Should().BeOneOf(200, 404);
    }

    private static byte[] Manifest(byte[] config, byte[]? layer = null, string? annotation = null)
    {
        var layers = layer is null ? "" : $"{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{Sha256(layer)}\",\"size\":{layer.Length}}}";
        var annotations = annotation is null ? "" : $",\"annotations\":{{\"org.example\":\"{annotation}\"}}";
        return Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{OciManifest}\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{Sha256(config)}\",\"size\":{config.Length}}},\"layers\":[{layers}]{annotations}}}");
    }

    private static string Sha256(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string WithDigest(string location, string digest) =>
        location + (location.Contains('?') ? '&' : '?') + "digest=" + Uri.EscapeDataString(digest);

    private static IEnumerable<string> ErrorCodes(byte[] body) =>
        JsonNode.Parse(body)!["errors"]!.AsArray().Select(e => e!["code"]!.GetValue<string>());

    private async Task<string> PostSessionAsync(string repo)
    {
        var post = await SendAsync(HttpMethod.Post, $"/v2/{repo}/blobs/uploads/", []);
        post.Status.Should().Be(202);
        return post.Headers["Location"]!;
    }

    private async Task<int> PushMonolithicAsync(string repo, byte[] blob) =>
        (await SendAsync(HttpMethod.Put, WithDigest(await PostSessionAsync(repo), Sha256(blob)), blob)).Status;

    private Task<Exchange> PutManifestAsync(string repo, string reference, byte[] manifest) =>
        SendAsync(HttpMethod.Put, $"/v2/{repo}/manifests/{reference}", manifest, contentType: OciManifest);

    private sealed record Exchange(int Status, Dictionary<string, string?> Headers, byte[] Body);

    private async Task<Exchange> SendAsync(
        HttpMethod method, string path, byte[]? body = null, string? accept = null, string? range = null,
        string rangeHeader = "Content-Range", bool chunked = false, string? contentType = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType ?? "application/octet-stream");
            if (chunked) request.Headers.TransferEncodingChunked = true;
        }
        if (accept is not null) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        if (range is not null)
        {
            if (rangeHeader == "Range") request.Headers.TryAddWithoutValidation("Range", range);
            else request.Content!.Headers.TryAddWithoutValidation("Content-Range", range);
        }
        using var response = await Client.SendAsync(request);
        var headers = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in response.Headers) headers[k] = string.Join(", ", v);
        foreach (var (k, v) in response.Content.Headers) headers[k] = string.Join(", ", v);
        if (response.Headers.Location is { } location) headers["Location"] = location.OriginalString;
        response.Headers.TryGetValues("Docker-Distribution-API-Version", out var version);
        version.Should().Equal(["registry/2.0"], $"{method} {path} carries the API version (R1)");
        return new Exchange((int)response.StatusCode, headers, await response.Content.ReadAsByteArrayAsync());
    }
}
