using System.Net.Http.Headers;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Tests.Support;

namespace Registry.Tests.V2;

/// <summary>Blob HEAD/GET/DELETE (OCI distribution-spec v1.1, 'Pull', Docker Registry HTTP API V2, 'Deleting a Layer', docs/client-behaviour.md, 'V2 edge cases' items 13-14, the OCI distribution-spec conformance suite: pull checks and range requests).</summary>
public class BlobTests
{
    private static readonly Dictionary<string, string> DeleteEnabled = new() { ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true" };

    [Test]
    public async Task Head_and_get_of_an_unknown_blob_are_404_blob_unknown_with_the_digest()
    {
        await using var registry = TestRegistry.Start();
        var digest = V2Blobs.Sha256("nothing"u8.ToArray());

        using var head = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/foo/bar/blobs/{digest}"));
        ((int)head.StatusCode).Should().Be(404);
        (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();

        using var get = await registry.Client.GetAsync($"/v2/foo/bar/blobs/{digest}");
        ((int)get.StatusCode).Should().Be(404);
        get.Header("Content-Type").Should().Be("application/json");
        (await get.Content.ReadAsStringAsync()).Should().Be(
            $"{{\"errors\":[{{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\",\"detail\":\"{digest}\"}}]}}");
    }

    [Test]
    public async Task Head_has_the_real_size_and_every_blob_header_and_no_body()
    {
        await using var registry = TestRegistry.Start();
        var content = V1Client.RandomBytes(300);
        var digest = await V2Blobs.PushAsync(registry.Client, "foo/bar", content);

        using var head = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/foo/bar/blobs/{digest}"));
        ((int)head.StatusCode).Should().Be(200);
        head.Content.Headers.ContentLength.Should().Be(300);
        AssertBlobHeaders(head, digest);
        (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task Get_returns_the_pushed_bytes_with_the_blob_headers()
    {
        await using var registry = TestRegistry.Start();
        var content = V1Client.RandomBytes(70_000);
        var digest = await V2Blobs.PushAsync(registry.Client, "foo/bar", content);

        using var get = await registry.Client.GetAsync($"/v2/foo/bar/blobs/{digest}");
        ((int)get.StatusCode).Should().Be(200);
        get.Content.Headers.ContentLength.Should().Be(70_000);
        AssertBlobHeaders(get, digest);
        (await get.Content.ReadAsByteArrayAsync()).Should().Equal(content);
    }

    [Test]
    public async Task A_blob_linked_only_in_another_repository_is_unknown_here()
    {
        await using var registry = TestRegistry.Start();
        var digest = await V2Blobs.PushAsync(registry.Client, "foo/a", "shared"u8.ToArray());

        using var other = await registry.Client.GetAsync($"/v2/foo/b/blobs/{digest}");
        ((int)other.StatusCode).Should().Be(404);
        (await other.Content.ReadAsStringAsync()).Should().Contain("BLOB_UNKNOWN");

        // Uploading it again there only adds the link; the data is found present.
        var again = await V2Blobs.PushAsync(registry.Client, "foo/b", "shared"u8.ToArray());
        again.Should().Be(digest);
        using var after = await registry.Client.GetAsync($"/v2/foo/b/blobs/{digest}");
        (await after.Content.ReadAsStringAsync()).Should().Be("shared");
    }

    [Test]
    public async Task A_link_whose_data_is_missing_is_unknown()
    {
        await using var registry = TestRegistry.Start();
        var digest = Digest.Compute("sha256", "gone"u8);
        await DistributionLinks.WriteAsync(registry.Storage, DistributionPaths.LayerLink("foo/bar", digest), digest, CancellationToken.None);

        using var head = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/foo/bar/blobs/{digest}"));
        ((int)head.StatusCode).Should().Be(404);
    }

    [TestCase("sha256:totallywrong")]
    [TestCase("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [TestCase("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [TestCase("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    public async Task A_malformed_or_unsupported_digest_is_400_digest_invalid(string reference)
    {
        await using var registry = TestRegistry.Start();
        using var get = await registry.Client.GetAsync($"/v2/foo/bar/blobs/{reference}");
        ((int)get.StatusCode).Should().Be(400);
        (await get.Content.ReadAsStringAsync()).Should().Be(
            $"{{\"errors\":[{{\"code\":\"DIGEST_INVALID\",\"message\":\"provided digest did not match uploaded content\",\"detail\":\"{reference}\"}}]}}");
    }

    // The conformance suite's range requests on a 2048-byte blob (the OCI distribution-spec conformance suite) and the range rows of OCI distribution-spec v1.1, 'Pull'.
    [TestCase("bytes=500-1499", 206, 500, 1000, "bytes 500-1499/2048")]
    [TestCase("bytes=500-", 206, 500, 1548, "bytes 500-2047/2048")]
    [TestCase("bytes=-500", 206, 1548, 500, "bytes 1548-2047/2048")]
    [TestCase("bytes=2000-5000", 206, 2000, 48, "bytes 2000-2047/2048")]
    [TestCase("bytes=0-0", 206, 0, 1, "bytes 0-0/2048")]
    [TestCase("bytes=-5000", 206, 0, 2048, "bytes 0-2047/2048")]
    [TestCase("bytes=500-0", 200, 0, 2048, null)]
    [TestCase("bytes=0-1,5-6", 200, 0, 2048, null)]
    [TestCase("items=0-5", 200, 0, 2048, null)]
    [TestCase("bytes=abc-", 200, 0, 2048, null)]
    public async Task Range_requests_serve_one_slice_or_the_whole_blob(string range, int status, int start, int length, string? contentRange)
    {
        await using var registry = TestRegistry.Start();
        var content = V1Client.RandomBytes(2048);
        var digest = await V2Blobs.PushAsync(registry.Client, "conformance/repo1", content);

        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/conformance/repo1/blobs/{digest}");
        request.Headers.TryAddWithoutValidation("Range", range);
        using var response = await registry.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(status);
        response.Content.Headers.ContentLength.Should().Be(length);
        response.Header("Content-Range").Should().Be(contentRange);
        response.Header("Docker-Content-Digest").Should().Be(digest);
        (await response.Content.ReadAsByteArrayAsync()).Should().Equal(content.AsSpan(start, length).ToArray());
    }

    [TestCase("bytes=5000-10000")]
    [TestCase("bytes=2048-")]
    [TestCase("bytes=-0")]
    public async Task A_range_past_the_end_is_416_with_the_size(string range)
    {
        await using var registry = TestRegistry.Start();
        var digest = await V2Blobs.PushAsync(registry.Client, "conformance/repo1", V1Client.RandomBytes(2048));

        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/conformance/repo1/blobs/{digest}");
        request.Headers.TryAddWithoutValidation("Range", range);
        using var response = await registry.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(416);
        response.Header("Content-Range").Should().Be("bytes */2048");
        (await response.Content.ReadAsStringAsync()).Should().Be("{\"errors\":[{\"code\":\"RANGE_INVALID\",\"message\":\"invalid content range\"}]}");
    }

    [TestCase("\"{0}\"")]
    [TestCase("{0}")]
    [TestCase("W/\"{0}\"")]
    [TestCase("\"sha256:other\", \"{0}\"")]
    public async Task If_none_match_with_the_digest_is_304_without_a_body(string format)
    {
        await using var registry = TestRegistry.Start();
        var digest = await V2Blobs.PushAsync(registry.Client, "foo/bar", "cached"u8.ToArray());

        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/foo/bar/blobs/{digest}");
        request.Headers.TryAddWithoutValidation("If-None-Match", string.Format(format, digest));
        using var response = await registry.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(304);
        response.Header("ETag").Should().Be($"\"{digest}\"");
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task The_empty_blob_has_length_0_and_any_range_is_416()
    {
        await using var registry = TestRegistry.Start();
        var digest = await V2Blobs.PushAsync(registry.Client, "foo/bar", []);
        digest.Should().Be(Digest.EmptySha256.ToString());

        using var head = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/foo/bar/blobs/{digest}"));
        ((int)head.StatusCode).Should().Be(200);
        head.Content.Headers.ContentLength.Should().Be(0);

        using var get = await registry.Client.GetAsync($"/v2/foo/bar/blobs/{digest}");
        ((int)get.StatusCode).Should().Be(200);
        (await get.Content.ReadAsByteArrayAsync()).Should().BeEmpty();

        var ranged = new HttpRequestMessage(HttpMethod.Get, $"/v2/foo/bar/blobs/{digest}");
        ranged.Headers.TryAddWithoutValidation("Range", "bytes=0-");
        using var range = await registry.Client.SendAsync(ranged);
        ((int)range.StatusCode).Should().Be(416);
        range.Header("Content-Range").Should().Be("bytes */0");
    }

    [Test]
    public async Task A_sha512_link_written_by_distribution_to_sha256_data_serves_the_sha512_digest()
    {
        await using var registry = TestRegistry.Start();
        var content = "aliased by distribution"u8.ToArray();
        var sha256 = Digest.Compute("sha256", content);
        var sha512 = Digest.Compute("sha512", content);
        await registry.Storage.PutContentAsync(DistributionPaths.BlobData(sha256), content, CancellationToken.None);
        await DistributionLinks.WriteAsync(registry.Storage, DistributionPaths.LayerLink("foo/bar", sha512), sha256, CancellationToken.None);

        using var head = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/foo/bar/blobs/{sha512}"));
        ((int)head.StatusCode).Should().Be(200);
        head.Content.Headers.ContentLength.Should().Be(content.Length);
        head.Header("Docker-Content-Digest").Should().Be(sha512.ToString());

        using var get = await registry.Client.GetAsync($"/v2/foo/bar/blobs/{sha512}");
        (await get.Content.ReadAsByteArrayAsync()).Should().Equal(content);

        // The sha256 digest itself is not linked in the repository.
        using var bySha256 = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/foo/bar/blobs/{sha256}"));
        ((int)bySha256.StatusCode).Should().Be(404);
    }

    [Test]
    public async Task Delete_is_405_unsupported_unless_enabled()
    {
        await using var registry = TestRegistry.Start();
        var digest = await V2Blobs.PushAsync(registry.Client, "foo/bar", "keep"u8.ToArray());

        using var delete = await registry.Client.DeleteAsync($"/v2/foo/bar/blobs/{digest}");
        ((int)delete.StatusCode).Should().Be(405);
        (await delete.Content.ReadAsStringAsync()).Should().Be("{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"The operation is unsupported.\"}]}");
        using var head = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/foo/bar/blobs/{digest}"));
        ((int)head.StatusCode).Should().Be(200);
    }

    [Test]
    public async Task Delete_unlinks_only_this_repository_and_keeps_the_data()
    {
        await using var registry = TestRegistry.Start(DeleteEnabled);
        var content = "to delete"u8.ToArray();
        var digest = await V2Blobs.PushAsync(registry.Client, "foo/a", content);
        await V2Blobs.PushAsync(registry.Client, "foo/b", content);

        using var delete = await registry.Client.DeleteAsync($"/v2/foo/a/blobs/{digest}");
        ((int)delete.StatusCode).Should().Be(202);
        delete.Content.Headers.ContentLength.Should().Be(0);
        (await delete.Content.ReadAsByteArrayAsync()).Should().BeEmpty();

        using var headA = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/foo/a/blobs/{digest}"));
        ((int)headA.StatusCode).Should().Be(404);
        using var headB = await registry.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/foo/b/blobs/{digest}"));
        ((int)headB.StatusCode).Should().Be(200);
        var d = Digest.ParseOrNull(digest)!;
        File.Exists(Path.Combine(registry.StorageRoot, DistributionPaths.BlobData(d))).Should().BeTrue();
        File.Exists(Path.Combine(registry.StorageRoot, DistributionPaths.LayerLink("foo/a", d))).Should().BeFalse();

        using var again = await registry.Client.DeleteAsync($"/v2/foo/a/blobs/{digest}");
        ((int)again.StatusCode).Should().Be(404);
        (await again.Content.ReadAsStringAsync()).Should().Be(
            $"{{\"errors\":[{{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\",\"detail\":\"{digest}\"}}]}}");
    }

    [Test]
    public async Task Blob_routes_declare_their_methods()
    {
        await using var registry = TestRegistry.Start();
        using var response = await registry.Client.PutAsync($"/v2/foo/bar/blobs/{Digest.EmptySha256}", new ByteArrayContent([]));
        ((int)response.StatusCode).Should().Be(405);
        response.Content.Headers.Allow.Should().Equal("GET", "HEAD", "DELETE");
    }

    private static void AssertBlobHeaders(HttpResponseMessage response, string digest)
    {
        response.Header("Docker-Content-Digest").Should().Be(digest);
        response.Header("Content-Type").Should().Be("application/octet-stream");
        response.Header("ETag").Should().Be($"\"{digest}\"");
        response.Header("Accept-Ranges").Should().Be("bytes");
        response.Header("Cache-Control").Should().Be("max-age=31536000");
        response.Header("Docker-Distribution-API-Version").Should().Be("registry/2.0");
    }
}

/// <summary>Small v2 upload exchanges shared by the blob and upload tests.</summary>
internal static class V2Blobs
{
    public static string Sha256(byte[] content) => Digest.Compute("sha256", content).ToString();

    /// <summary>Monolithic POST <c>?digest=</c>; asserts 201 and returns the digest.</summary>
    public static async Task<string> PushAsync(HttpClient client, string name, byte[] content, string algorithm = "sha256")
    {
        var digest = Digest.Compute(algorithm, content).ToString();
        using var response = await client.SendAsync(Request(HttpMethod.Post, $"/v2/{name}/blobs/uploads/?digest={Uri.EscapeDataString(digest)}", content));
        ((int)response.StatusCode).Should().Be(201, await response.Content.ReadAsStringAsync());
        return digest;
    }

    /// <summary>POST of a new session; asserts 202 and returns its Location.</summary>
    public static async Task<string> StartAsync(HttpClient client, string name, string query = "")
    {
        using var response = await client.PostAsync($"/v2/{name}/blobs/uploads/{query}", new ByteArrayContent([]));
        ((int)response.StatusCode).Should().Be(202, await response.Content.ReadAsStringAsync());
        return response.Header("Location")!;
    }

    /// <summary>A request with a body of known length (null: no content at all) and raw extra headers (e.g. a bare Content-Range).</summary>
    public static HttpRequestMessage Request(HttpMethod method, string url, byte[]? body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }
        foreach (var (name, value) in headers)
        {
            if (request.Content is not null && name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
                request.Content.Headers.TryAddWithoutValidation(name, value);
            else
                request.Headers.TryAddWithoutValidation(name, value);
        }
        return request;
    }

    /// <summary>The error envelope with one entry, as the server writes it.</summary>
    public static string Envelope(string code, string message, string? detail = null) =>
        detail is null
            ? $"{{\"errors\":[{{\"code\":\"{code}\",\"message\":\"{message}\"}}]}}"
            : $"{{\"errors\":[{{\"code\":\"{code}\",\"message\":\"{message}\",\"detail\":\"{detail}\"}}]}}";

    public static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
