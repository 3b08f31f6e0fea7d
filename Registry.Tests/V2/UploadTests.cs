using System.Net;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.V2;

/// <summary>
/// Blob upload sessions (Docker Registry HTTP API V2, 'Pushing An Image', docs/storage-layout.md, 'Write order', docs/client-behaviour.md, 'V2 edge cases' items 1-4, 12-15) and the conformance push checks (the OCI distribution-spec conformance suite, push and additional checks),
/// against the real app on the file driver; <see cref="InMemoryUploadTests"/> runs the storage-agnostic ones again.
/// </summary>
public class UploadTests
{
    private const string Repo = "conformance/repo1";

    protected TestRegistry Registry = null!;

    protected HttpClient Client => Registry.Client;

    [SetUp]
    public void StartRegistry() => Registry = StartRegistryCore();

    [TearDown]
    public async Task StopRegistryAsync() => await Registry.DisposeAsync();

    protected virtual TestRegistry StartRegistryCore() => TestRegistry.Start();

    [Test]
    public async Task Post_creates_a_session_with_the_upload_headers()
    {
        using var response = await Client.PostAsync($"/v2/{Repo}/blobs/uploads/", new ByteArrayContent([]));

        ((int)response.StatusCode).Should().Be(202);
        var uuid = response.Header("Docker-Upload-UUID")!;
        uuid.Should().MatchRegex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$");
        response.Header("Location").Should().Be($"/v2/{Repo}/blobs/uploads/{uuid}");
        response.Header("Range").Should().Be("0-0");
        response.Content.Headers.ContentLength.Should().Be(0);
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        response.Header("Docker-Distribution-API-Version").Should().Be("registry/2.0");

        var startedAt = await Registry.Storage.GetContentAsync(DistributionPaths.UploadStartedAt(Repo, uuid), CancellationToken.None);
        V2Blobs.Text(startedAt!).Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$");
    }

    [Test]
    public async Task Post_without_the_trailing_slash_also_starts_a_session()
    {
        using var response = await Client.PostAsync($"/v2/{Repo}/blobs/uploads", new ByteArrayContent([]));
        ((int)response.StatusCode).Should().Be(202);
        response.Header("Location").Should().StartWith($"/v2/{Repo}/blobs/uploads/");
    }

    [Test]
    public async Task Post_only_monolithic_upload_is_201_and_the_blob_is_pullable()
    {
        var content = V1Client.RandomBytes(5000);
        var digest = V2Blobs.Sha256(content);
        using var response = await Client.SendAsync(V2Blobs.Request(HttpMethod.Post, $"/v2/{Repo}/blobs/uploads/?digest={digest}", content));

        ((int)response.StatusCode).Should().Be(201);
        response.Header("Location").Should().Be($"/v2/{Repo}/blobs/{digest}");
        response.Header("Docker-Content-Digest").Should().Be(digest);
        response.Content.Headers.ContentLength.Should().Be(0);
        await AssertBlobAsync(Repo, digest, content);
        (await Registry.Storage.ListAsync(DistributionPaths.UploadsDir(Repo), CancellationToken.None)).Should().BeEmpty();
    }

    [Test]
    public async Task Post_with_a_mismatching_digest_is_400_and_stores_nothing()
    {
        var digest = V2Blobs.Sha256("other"u8.ToArray());
        using var response = await Client.SendAsync(V2Blobs.Request(HttpMethod.Post, $"/v2/{Repo}/blobs/uploads/?digest={digest}", "content"u8.ToArray()));

        ((int)response.StatusCode).Should().Be(400);
        (await response.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("DIGEST_INVALID", "provided digest did not match uploaded content", digest));
        (await Registry.Storage.DirectoryExistsAsync(DistributionPaths.BlobsDir, CancellationToken.None)).Should().BeFalse();
        (await Registry.Storage.ListAsync(DistributionPaths.UploadsDir(Repo), CancellationToken.None)).Should().BeEmpty();
        await AssertUnknownAsync(Repo, digest);
    }

    [TestCase("sha256:nothex", "digest parsing failed")]
    [TestCase("", "digest parsing failed")]
    public async Task Post_with_a_malformed_digest_is_400(string digest, string detail)
    {
        using var response = await Client.SendAsync(V2Blobs.Request(HttpMethod.Post, $"/v2/{Repo}/blobs/uploads/?digest={digest}", "x"u8.ToArray()));
        ((int)response.StatusCode).Should().Be(400);
        (await response.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("DIGEST_INVALID", "provided digest did not match uploaded content", detail));
    }

    [Test]
    public async Task Post_then_put_with_the_body_is_201_and_links_the_blob()
    {
        var content = V1Client.RandomBytes(1234);
        var digest = V2Blobs.Sha256(content);
        var location = await V2Blobs.StartAsync(Client, Repo);
        var uuid = location[(location.LastIndexOf('/') + 1)..];

        using var put = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={Uri.EscapeDataString(digest)}", content));
        ((int)put.StatusCode).Should().Be(201);
        put.Header("Location").Should().Be($"/v2/{Repo}/blobs/{digest}");
        put.Header("Docker-Content-Digest").Should().Be(digest);
        put.Content.Headers.ContentLength.Should().Be(0);

        await AssertBlobAsync(Repo, digest, content);
        var d = Digest.ParseOrNull(digest)!;
        V2Blobs.Text((await Registry.Storage.GetContentAsync(DistributionPaths.LayerLink(Repo, d), CancellationToken.None))!).Should().Be(digest);
        (await Registry.Storage.GetContentAsync(DistributionPaths.BlobData(d), CancellationToken.None)).Should().Equal(content);
        (await Registry.Storage.DirectoryExistsAsync(DistributionPaths.UploadDir(Repo, uuid), CancellationToken.None)).Should().BeFalse();

        using var status = await Client.GetAsync(location);
        ((int)status.StatusCode).Should().Be(404);
    }

    [Test]
    public async Task Stream_patch_without_content_range_then_empty_put()
    {
        var content = V1Client.RandomBytes(131);
        var digest = V2Blobs.Sha256(content);
        var location = await V2Blobs.StartAsync(Client, Repo);

        // Unknown length: the client sends it chunked, as docker does.
        var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new StreamContent(new UnseekableStream(content)) };
        using var patched = await Client.SendAsync(patch);
        ((int)patched.StatusCode).Should().Be(202);
        patched.Header("Location").Should().Be(location);
        patched.Header("Range").Should().Be("0-130");
        patched.Content.Headers.ContentLength.Should().Be(0);

        // The one-chunk upload recorded its digest, so closing it needs no second read.
        var uuid = location[(location.LastIndexOf('/') + 1)..];
        V2Blobs.Text((await Registry.Storage.GetContentAsync($"{DistributionPaths.UploadDir(Repo, uuid)}/datadigests/sha256", CancellationToken.None))!)
            .Should().Be(digest);

        using var put = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={digest}", [], ("Content-Length", "0")));
        ((int)put.StatusCode).Should().Be(201);
        put.Header("Location").Should().Be($"/v2/{Repo}/blobs/{digest}");
        await AssertBlobAsync(Repo, digest, content);
    }

    /// <summary>A streamed body's recorded digest at sizes around the 1 MiB copy block's edges, with one and two hashes.</summary>
    [TestCase((1 << 20) - 1, "sha256")]
    [TestCase(1 << 20, "sha256")]
    [TestCase((1 << 20) + 1, "sha256")]
    [TestCase((3 << 20) + 7, "sha256")]
    [TestCase((2 << 20) + 1, "sha512")]
    public async Task A_streamed_patch_records_the_digest_of_every_byte_across_copy_blocks(int size, string algorithm)
    {
        var content = V1Client.RandomBytes(size);
        var digest = Digest.Compute(algorithm, content).ToString();
        var location = await V2Blobs.StartAsync(Client, Repo, algorithm == "sha256" ? "" : $"?digest-algorithm={algorithm}");

        var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new StreamContent(new UnseekableStream(content)) };
        using (var patched = await Client.SendAsync(patch))
        {
            ((int)patched.StatusCode).Should().Be(202);
            patched.Header("Range").Should().Be($"0-{size - 1}");
        }
        var uuid = location[(location.LastIndexOf('/') + 1)..];
        V2Blobs.Text((await Registry.Storage.GetContentAsync($"{DistributionPaths.UploadDir(Repo, uuid)}/datadigests/{algorithm}", CancellationToken.None))!)
            .Should().Be(digest);

        using var put = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={digest}", [], ("Content-Length", "0")));
        ((int)put.StatusCode).Should().Be(201);
        put.Header("Docker-Content-Digest").Should().Be(digest);
        await AssertBlobAsync(Repo, digest, content);
    }

    [Test]
    public async Task Chunked_upload_follows_the_conformance_sequence()
    {
        var content = V1Client.RandomBytes(2000);
        var (first, second) = (content[..1000], content[1000..]);
        var digest = V2Blobs.Sha256(content);

        // push.chunked.out-of-order: the second chunk first.
        var other = await V2Blobs.StartAsync(Client, Repo);
        using (var outOfOrder = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, other, second, ("Content-Range", "1000-1999"))))
        {
            ((int)outOfOrder.StatusCode).Should().Be(416);
            outOfOrder.Header("Location").Should().Be(other);
            outOfOrder.Header("Range").Should().Be("0-0");
            (await outOfOrder.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("RANGE_INVALID", "invalid content range"));
        }

        var postLocation = await V2Blobs.StartAsync(Client, Repo);
        string location;
        using (var firstChunk = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, postLocation, first, ("Content-Range", "0-999"))))
        {
            ((int)firstChunk.StatusCode).Should().Be(202);
            firstChunk.Header("Range").Should().Be("0-999");
            location = firstChunk.Header("Location")!;
        }
        using (var retry = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, postLocation, first, ("Content-Range", "0-999"))))
        {
            ((int)retry.StatusCode).Should().Be(416);
            retry.Header("Range").Should().Be("0-999");
            retry.Header("Docker-Upload-UUID").Should().NotBeNull();
        }
        using (var status = await Client.GetAsync(postLocation))
        {
            ((int)status.StatusCode).Should().Be(204);
            status.Header("Location").Should().Be(location);
            status.Header("Range").Should().Be("0-999");
        }
        using (var secondChunk = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, second, ("Content-Range", "1000-1999"))))
        {
            ((int)secondChunk.StatusCode).Should().Be(202);
            secondChunk.Header("Range").Should().Be("0-1999");
            location = secondChunk.Header("Location")!;
        }
        using (var close = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={digest}", [], ("Content-Length", "0"))))
        {
            ((int)close.StatusCode).Should().Be(201);
            close.Header("Location").Should().Be($"/v2/{Repo}/blobs/{digest}");
        }
        await AssertBlobAsync(Repo, digest, content);
    }

    [Test]
    public async Task Several_chunks_and_a_final_chunk_in_the_put_are_joined_in_order()
    {
        var content = V1Client.RandomBytes(3 * 1024 * 1024 + 17);
        var digest = V2Blobs.Sha256(content);
        var location = await V2Blobs.StartAsync(Client, Repo);
        var offset = 0;
        foreach (var size in new[] { 1024 * 1024, 1, 2 * 1024 * 1024 })
        {
            var chunk = content[offset..(offset + size)];
            using var patch = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, chunk));
            ((int)patch.StatusCode).Should().Be(202);
            offset += size;
            patch.Header("Range").Should().Be($"0-{offset - 1}");
        }
        var last = content[offset..];
        using var put = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={digest}", last, ("Content-Range", $"{offset}-{content.Length - 1}")));
        ((int)put.StatusCode).Should().Be(201);
        await AssertBlobAsync(Repo, digest, content);
    }

    [Test]
    public async Task A_content_length_other_than_the_range_is_400_size_invalid()
    {
        var location = await V2Blobs.StartAsync(Client, Repo);
        using var patch = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, new byte[5], ("Content-Range", "0-9")));
        ((int)patch.StatusCode).Should().Be(400);
        (await patch.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("SIZE_INVALID", "provided length did not match content length"));
        await AssertSessionSizeAsync(location, "0-0");
    }

    [TestCase("bytes 0-9/10")]
    [TestCase("bytes=0-9")]
    [TestCase("9-0")]
    [TestCase("0-")]
    public async Task A_malformed_content_range_is_416_with_the_upload_headers(string range)
    {
        var location = await V2Blobs.StartAsync(Client, Repo);
        using var patch = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, new byte[10], ("Content-Range", range)));
        ((int)patch.StatusCode).Should().Be(416);
        patch.Header("Location").Should().Be(location);
        patch.Header("Range").Should().Be("0-0");
        (await patch.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("RANGE_INVALID", "invalid content range"));
    }

    [Test]
    public async Task A_chunked_patch_cut_short_leaves_the_session_size_unchanged()
    {
        var location = await V2Blobs.StartAsync(Client, Repo);
        using (var first = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, new byte[100])))
            ((int)first.StatusCode).Should().Be(202);

        var broken = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new FailingContent(5000) };
        var send = async () => { using var _ = await Client.SendAsync(broken); };
        await send.Should().ThrowAsync<Exception>();

        await AssertSessionSizeAsync(location, "0-99");
        using var next = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, new byte[10], ("Content-Range", "100-109")));
        ((int)next.StatusCode).Should().Be(202);
        next.Header("Range").Should().Be("0-109");
    }

    [Test]
    public async Task Put_without_a_digest_is_400_and_keeps_the_session()
    {
        var location = await V2Blobs.StartAsync(Client, Repo);
        using (var patch = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, "abc"u8.ToArray())))
            ((int)patch.StatusCode).Should().Be(202);

        using (var missing = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, location, [])))
        {
            ((int)missing.StatusCode).Should().Be(400);
            (await missing.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("DIGEST_INVALID", "provided digest did not match uploaded content", "digest missing"));
        }
        using (var malformed = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest=sha256:abc", [])))
        {
            ((int)malformed.StatusCode).Should().Be(400);
            (await malformed.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("DIGEST_INVALID", "provided digest did not match uploaded content", "digest parsing failed"));
        }
        await AssertSessionSizeAsync(location, "0-2");

        // Multiple digest parameters: the first counts.
        var digest = V2Blobs.Sha256("abc"u8.ToArray());
        using var put = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={digest}&digest=sha256:bad", []));
        ((int)put.StatusCode).Should().Be(201);
    }

    [Test]
    public async Task Put_with_a_mismatching_digest_is_400_links_nothing_and_ends_the_session()
    {
        var location = await V2Blobs.StartAsync(Client, Repo);
        using (var patch = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, "real content"u8.ToArray())))
            ((int)patch.StatusCode).Should().Be(202);

        var wrong = V2Blobs.Sha256("claimed content"u8.ToArray());
        using var put = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={wrong}", []));
        ((int)put.StatusCode).Should().Be(400);
        (await put.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("DIGEST_INVALID", "provided digest did not match uploaded content", wrong));

        (await Registry.Storage.DirectoryExistsAsync(DistributionPaths.BlobsDir, CancellationToken.None)).Should().BeFalse();
        (await Registry.Storage.DirectoryExistsAsync(DistributionPaths.LayersDir(Repo), CancellationToken.None)).Should().BeFalse();
        await AssertUnknownAsync(Repo, wrong);
        await AssertUnknownAsync(Repo, V2Blobs.Sha256("real content"u8.ToArray()));
        using var status = await Client.GetAsync(location);
        ((int)status.StatusCode).Should().Be(404);
    }

    [Test]
    public async Task A_multi_chunk_mismatch_also_publishes_nothing()
    {
        var location = await V2Blobs.StartAsync(Client, Repo);
        foreach (var chunk in new[] { "one"u8.ToArray(), "two"u8.ToArray() })
            using (var patch = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, chunk)))
                ((int)patch.StatusCode).Should().Be(202);
        using var put = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={V2Blobs.Sha256("onetwo!"u8.ToArray())}", []));
        ((int)put.StatusCode).Should().Be(400);
        (await Registry.Storage.DirectoryExistsAsync(DistributionPaths.BlobsDir, CancellationToken.None)).Should().BeFalse();
        (await Registry.Storage.ListAsync(DistributionPaths.UploadsDir(Repo), CancellationToken.None)).Should().BeEmpty();
    }

    [Test]
    public async Task Status_get_and_head_are_204_with_the_upload_headers()
    {
        var location = await V2Blobs.StartAsync(Client, Repo);
        using (var patch = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, new byte[42])))
            ((int)patch.StatusCode).Should().Be(202);

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Head })
        {
            using var status = await Client.SendAsync(new HttpRequestMessage(method, location));
            ((int)status.StatusCode).Should().Be(204);
            status.Header("Location").Should().Be(location);
            status.Header("Range").Should().Be("0-41");
            status.Header("Docker-Upload-UUID").Should().Be(location[(location.LastIndexOf('/') + 1)..]);
            (await status.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        }
    }

    [Test]
    public async Task Cancel_is_204_and_the_session_is_gone()
    {
        var location = await V2Blobs.StartAsync(Client, Repo);
        var uuid = location[(location.LastIndexOf('/') + 1)..];
        using (var patch = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, new byte[42])))
            ((int)patch.StatusCode).Should().Be(202);

        using (var cancel = await Client.DeleteAsync(location))
        {
            ((int)cancel.StatusCode).Should().Be(204);
            cancel.Header("Docker-Upload-UUID").Should().Be(uuid);
            (await cancel.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        }
        (await Registry.Storage.DirectoryExistsAsync(DistributionPaths.UploadDir(Repo, uuid), CancellationToken.None)).Should().BeFalse();
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete, HttpMethod.Patch })
        {
            using var after = await Client.SendAsync(V2Blobs.Request(method, location, method == HttpMethod.Patch ? new byte[1] : null));
            ((int)after.StatusCode).Should().Be(404);
            (await after.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"));
        }
    }

    [Test]
    public async Task A_session_id_is_unknown_under_another_repository()
    {
        var location = await V2Blobs.StartAsync(Client, Repo);
        var uuid = location[(location.LastIndexOf('/') + 1)..];
        var elsewhere = $"/v2/conformance/repo2/blobs/uploads/{uuid}";
        var digest = V2Blobs.Sha256([]);

        foreach (var (method, url) in new[] { (HttpMethod.Get, elsewhere), (HttpMethod.Patch, elsewhere), (HttpMethod.Put, $"{elsewhere}?digest={digest}"), (HttpMethod.Delete, elsewhere) })
        {
            using var response = await Client.SendAsync(V2Blobs.Request(method, url, method == HttpMethod.Patch ? new byte[3] : null));
            ((int)response.StatusCode).Should().Be(404, method.Method);
            (await response.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"));
        }
        await AssertSessionSizeAsync(location, "0-0");
    }

    [TestCase("...")]
    [TestCase("a~b")]
    [TestCase("a%20b")]
    [TestCase("00000000-0000-4000-8000-000000000000")]
    public async Task Invalid_or_unknown_ids_are_404_blob_upload_unknown(string uuid)
    {
        using var response = await Client.GetAsync($"/v2/{Repo}/blobs/uploads/{uuid}");
        ((int)response.StatusCode).Should().Be(404);
        (await response.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"));
    }

    [Test]
    public async Task Mount_from_a_repository_linking_the_blob_is_201_and_immediately_visible()
    {
        var content = V1Client.RandomBytes(777);
        var digest = await V2Blobs.PushAsync(Client, Repo, content);

        using var mount = await Client.PostAsync($"/v2/conformance/repo2/blobs/uploads/?mount={digest}&from={Uri.EscapeDataString(Repo)}", new ByteArrayContent([]));
        ((int)mount.StatusCode).Should().Be(201);
        mount.Header("Location").Should().Be($"/v2/conformance/repo2/blobs/{digest}");
        mount.Header("Docker-Content-Digest").Should().Be(digest);
        mount.Content.Headers.ContentLength.Should().Be(0);
        await AssertBlobAsync("conformance/repo2", digest, content);
        V2Blobs.Text((await Registry.Storage.GetContentAsync(DistributionPaths.LayerLink("conformance/repo2", Digest.ParseOrNull(digest)!), CancellationToken.None))!)
            .Should().Be(digest);
    }

    [TestCase("?mount={0}&from=conformance/nowhere")]
    [TestCase("?mount={0}&from=Not_Valid")]
    [TestCase("?mount=sha256:bad&from=conformance/repo1")]
    [TestCase("?mount={0}")]
    [TestCase("?mount={1}&from=conformance/repo1")]
    public async Task A_mount_that_cannot_happen_silently_starts_a_session(string query)
    {
        var digest = await V2Blobs.PushAsync(Client, Repo, "mountable"u8.ToArray());
        var missing = V2Blobs.Sha256("never pushed"u8.ToArray());

        using var response = await Client.PostAsync($"/v2/conformance/repo2/blobs/uploads/{string.Format(query, digest, missing)}", new ByteArrayContent([]));
        ((int)response.StatusCode).Should().Be(202);
        response.Header("Location").Should().StartWith("/v2/conformance/repo2/blobs/uploads/");
        response.Header("Range").Should().Be("0-0");
        await AssertUnknownAsync("conformance/repo2", digest);
    }

    [Test]
    public async Task Mount_from_a_repository_the_caller_may_not_pull_starts_a_session()
    {
        await using var secured = await StartWithUsersAsync();
        var (alice, bob) = (Basic("alice", "secret"), Basic("bob", "hunter2"));
        var content = "alice's layer"u8.ToArray();
        var digest = V2Blobs.Sha256(content);
        foreach (var repo in new[] { "alice/private", "alice/public" })
            using (var push = await secured.Client.SendAsync(WithAuth(V2Blobs.Request(HttpMethod.Post, $"/v2/{repo}/blobs/uploads/?digest={digest}", content), alice)))
                ((int)push.StatusCode).Should().Be(201);
        await secured.Storage.PutContentAsync(StoragePaths.Private(RepositoryName.FromLogical("alice/private")), "1"u8.ToArray(), CancellationToken.None);

        using (var denied = await secured.Client.SendAsync(WithAuth(new HttpRequestMessage(HttpMethod.Post, $"/v2/bob/copy/blobs/uploads/?mount={digest}&from=alice/private"), bob)))
        {
            ((int)denied.StatusCode).Should().Be(202);
            denied.Header("Location").Should().StartWith("/v2/bob/copy/blobs/uploads/");
        }
        using (var head = await secured.Client.SendAsync(WithAuth(new HttpRequestMessage(HttpMethod.Head, $"/v2/bob/copy/blobs/{digest}"), bob)))
            ((int)head.StatusCode).Should().Be(404);

        using (var allowed = await secured.Client.SendAsync(WithAuth(new HttpRequestMessage(HttpMethod.Post, $"/v2/bob/copy/blobs/uploads/?mount={digest}&from=alice/public"), bob)))
            ((int)allowed.StatusCode).Should().Be(201);

        // Only access to the target can fail the request: anonymous callers may not push.
        using var anonymous = await secured.Client.PostAsync($"/v2/bob/copy/blobs/uploads/?mount={digest}&from=alice/public", new ByteArrayContent([]));
        ((int)anonymous.StatusCode).Should().Be(401);
    }

    [Test]
    public async Task Sha512_sessions_store_the_blob_natively_under_sha512()
    {
        var content = V1Client.RandomBytes(4096);
        var digest = Digest.Compute("sha512", content);
        var location = await V2Blobs.StartAsync(Client, Repo, "?digest-algorithm=sha512");
        using (var patch = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, content)))
            ((int)patch.StatusCode).Should().Be(202);

        using var put = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={digest}", []));
        ((int)put.StatusCode).Should().Be(201);
        put.Header("Docker-Content-Digest").Should().Be(digest.ToString());
        put.Header("Location").Should().Be($"/v2/{Repo}/blobs/{digest}");

        await AssertBlobAsync(Repo, digest.ToString(), content);
        (await Registry.Storage.GetContentAsync(DistributionPaths.BlobData(digest), CancellationToken.None)).Should().Equal(content);
        V2Blobs.Text((await Registry.Storage.GetContentAsync(DistributionPaths.LayerLink(Repo, digest), CancellationToken.None))!).Should().Be(digest.ToString());
        DistributionPaths.BlobData(digest).Should().StartWith(DistributionPaths.BlobsDir + "/sha512/");
    }

    [Test]
    public async Task Sha512_works_monolithically_and_on_a_session_that_hashed_sha256()
    {
        var content = V1Client.RandomBytes(100);
        var posted = await V2Blobs.PushAsync(Client, Repo, content, "sha512");
        await AssertBlobAsync(Repo, posted, content);

        var other = V1Client.RandomBytes(100);
        var location = await V2Blobs.StartAsync(Client, Repo);
        using (var patch = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, other)))
            ((int)patch.StatusCode).Should().Be(202);
        var digest = Digest.Compute("sha512", other).ToString();
        using var put = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={digest}", []));
        ((int)put.StatusCode).Should().Be(201);
        await AssertBlobAsync(Repo, digest, other);
    }

    [Test]
    public async Task An_unsupported_digest_algorithm_is_400()
    {
        using var response = await Client.PostAsync($"/v2/{Repo}/blobs/uploads/?digest-algorithm=md5", new ByteArrayContent([]));
        ((int)response.StatusCode).Should().Be(400);
        (await response.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("DIGEST_INVALID", "provided digest did not match uploaded content", "unsupported digest algorithm md5"));
    }

    [Test]
    public async Task The_empty_blob_uploads_through_post_and_an_empty_put()
    {
        var location = await V2Blobs.StartAsync(Client, Repo);
        using var put = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={Digest.EmptySha256}", [], ("Content-Length", "0")));
        ((int)put.StatusCode).Should().Be(201);
        (await Registry.Storage.SizeAsync(DistributionPaths.BlobData(Digest.EmptySha256), CancellationToken.None)).Should().Be(0);
        await AssertBlobAsync(Repo, Digest.EmptySha256.ToString(), []);
    }

    [Test]
    public async Task Concurrent_commits_of_the_same_digest_both_succeed()
    {
        var content = V1Client.RandomBytes(512 * 1024);
        var digest = V2Blobs.Sha256(content);
        var locations = new[] { await V2Blobs.StartAsync(Client, Repo), await V2Blobs.StartAsync(Client, "conformance/repo2") };
        foreach (var location in locations)
            using (var patch = await Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, content)))
                ((int)patch.StatusCode).Should().Be(202);

        var puts = await Task.WhenAll(locations.Select(l => Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{l}?digest={digest}", []))));
        puts.Select(p => (int)p.StatusCode).Should().Equal(201, 201);
        foreach (var p in puts) p.Dispose();
        await AssertBlobAsync(Repo, digest, content);
        await AssertBlobAsync("conformance/repo2", digest, content);
    }

    [Test]
    public async Task A_session_written_by_distribution_is_resumed_and_committed()
    {
        var content = "bytes registry:2 received"u8.ToArray();
        const string uuid = "1b0c5a3e-8c4f-4d1e-9d7a-2f6b3c1a0e55";
        await Registry.Storage.PutContentAsync(DistributionPaths.UploadStartedAt(Repo, uuid), "2099-01-02T03:04:05Z"u8.ToArray(), CancellationToken.None);
        await Registry.Storage.PutContentAsync(DistributionPaths.UploadData(Repo, uuid), content, CancellationToken.None);

        var location = $"/v2/{Repo}/blobs/uploads/{uuid}";
        await AssertSessionSizeAsync(location, $"0-{content.Length - 1}");
        using var put = await Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={V2Blobs.Sha256(content)}", []));
        ((int)put.StatusCode).Should().Be(201);
        await AssertBlobAsync(Repo, V2Blobs.Sha256(content), content);
    }

    [Test]
    public async Task A_session_older_than_168_hours_is_unknown()
    {
        var location = await V2Blobs.StartAsync(Client, Repo);
        var uuid = location[(location.LastIndexOf('/') + 1)..];
        var old = DateTimeOffset.UtcNow.AddHours(-169).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
        await Registry.Storage.PutContentAsync(DistributionPaths.UploadStartedAt(Repo, uuid), System.Text.Encoding.ASCII.GetBytes(old), CancellationToken.None);
        using var status = await Client.GetAsync(location);
        ((int)status.StatusCode).Should().Be(404);
    }

    [Test]
    public async Task Upload_routes_declare_their_methods()
    {
        using var start = await Client.GetAsync($"/v2/{Repo}/blobs/uploads/");
        ((int)start.StatusCode).Should().Be(405);
        start.Content.Headers.Allow.Should().Equal("POST");
        using var session = await Client.PostAsync($"/v2/{Repo}/blobs/uploads/some-id", new ByteArrayContent([]));
        ((int)session.StatusCode).Should().Be(405);
        session.Content.Headers.Allow.Should().Equal("GET", "HEAD", "PATCH", "PUT", "DELETE");
    }

    protected async Task AssertBlobAsync(string name, string digest, byte[] content)
    {
        using var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{name}/blobs/{digest}"));
        ((int)head.StatusCode).Should().Be(200);
        head.Content.Headers.ContentLength.Should().Be(content.Length);
        head.Header("Docker-Content-Digest").Should().Be(digest);
        using var get = await Client.GetAsync($"/v2/{name}/blobs/{digest}");
        ((int)get.StatusCode).Should().Be(200);
        (await get.Content.ReadAsByteArrayAsync()).Should().Equal(content);
    }

    protected async Task AssertUnknownAsync(string name, string digest)
    {
        using var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{name}/blobs/{digest}"));
        ((int)head.StatusCode).Should().Be(404);
    }

    protected async Task AssertSessionSizeAsync(string location, string range)
    {
        using var status = await Client.GetAsync(location);
        ((int)status.StatusCode).Should().Be(204);
        status.Header("Range").Should().Be(range);
    }

    private static async Task<TestRegistry> StartWithUsersAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "registry-v2-upload-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var htpasswd = Path.Combine(root, "htpasswd");
        await File.WriteAllLinesAsync(htpasswd, [HtpasswdFile.Line("alice", "secret"), HtpasswdFile.Line("bob", "hunter2")]);
        return TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_HTPASSWD_REALM"] = "Test Realm",
        }, root);
    }

    private static string Basic(string user, string password) =>
        "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}"));

    private static HttpRequestMessage WithAuth(HttpRequestMessage request, string authorization)
    {
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return request;
    }

    /// <summary>A body of unknown length, so the client frames it chunked (docker's PATCH).</summary>
    private sealed class UnseekableStream(byte[] content) : Stream
    {
        private readonly MemoryStream _inner = new(content);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A chunked body that sends some bytes and then breaks, as a client that goes away mid-upload.</summary>
    private sealed class FailingContent(int bytesBeforeFailure) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(new byte[bytesBeforeFailure]);
            await stream.FlushAsync();
            throw new IOException("client went away");
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>The storage-agnostic upload checks again on the in-memory driver (no file paths involved).</summary>
public sealed class InMemoryUploadTests : UploadTests
{
    protected override TestRegistry StartRegistryCore()
    {
        var root = Path.Combine(Path.GetTempPath(), "registry-v2-mem-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var config = Path.Combine(root, "config.yml");
        File.WriteAllText(config, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "config_sample.yml"))
            + "\nmemtest:\n    <<: *dev\n    storage: inmemory\n");
        return TestRegistry.Start(new Dictionary<string, string>
        {
            ["DOCKER_REGISTRY_CONFIG"] = config,
            ["SETTINGS_FLAVOR"] = "memtest",
        }, root);
    }

    [Test]
    public void The_registry_runs_on_the_in_memory_driver() => Registry.Storage.Kind.Should().Be("inmemory");
}

/// <summary><c>max_uploads_per_client</c> counts v2 blob uploads; a refusal (here: no queue) gets the v2 envelope.</summary>
public sealed class UploadLimitTests
{
    [Test]
    public async Task A_second_concurrent_blob_upload_from_one_client_is_429_toomanyrequests()
    {
        await using var registry = TestRegistry.Start(new Dictionary<string, string> { ["MAX_UPLOADS_PER_CLIENT"] = "1", ["UPLOAD_QUEUE_PER_CLIENT"] = "0" });
        var location = await V2Blobs.StartAsync(registry.Client, "foo/bar");
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        var slow = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new StalledContent(started, release.Task) };
        var pending = registry.Client.SendAsync(slow);
        try
        {
            await started.Task.WaitAsync(TimeSpan.FromSeconds(20));
            // The body started on the client; give the server time to take the slot before probing, so that a
            // probe cannot hold the only slot at the moment the stalled upload arrives.
            await Task.Delay(300);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            HttpResponseMessage refused;
            // The first upload holds its slot once the server started reading it; poll until the second is refused.
            while (true)
            {
                pending.IsCompleted.Should().BeFalse("the stalled upload must hold its slot");
                refused = await registry.Client.SendAsync(V2Blobs.Request(HttpMethod.Post, $"/v2/foo/bar/blobs/uploads/?digest={Digest.EmptySha256}", []), cts.Token);
                if ((int)refused.StatusCode == 429) break;
                refused.Dispose();
                await Task.Delay(50, cts.Token);
            }
            using (refused)
            {
                refused.Header("Retry-After").Should().Be("5");
                (await refused.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("TOOMANYREQUESTS", "Too many concurrent uploads from this client"));
            }
        }
        finally
        {
            release.SetResult();
            using var done = await pending;
            ((int)done.StatusCode).Should().Be(202);
        }
    }

    /// <summary>A chunked body that sends one byte and then waits, holding the upload open.</summary>
    private sealed class StalledContent(TaskCompletionSource started, Task release) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(new byte[1]);
            await stream.FlushAsync();
            started.SetResult();
            await release;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>Sessions live on storage (docs/client-behaviour.md, 'V2 edge cases' item 3): a restarted registry on the same root resumes them.</summary>
public sealed class UploadRestartTests
{
    [Test]
    public async Task A_session_survives_a_registry_restart()
    {
        var content = V1Client.RandomBytes(3000);
        var digest = V2Blobs.Sha256(content);
        var first = TestRegistry.Start();
        var location = await V2Blobs.StartAsync(first.Client, "foo/bar");
        using (var patch = await first.Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, content[..1000], ("Content-Range", "0-999"))))
            ((int)patch.StatusCode).Should().Be(202);
        await first.StopAsync();

        await using var second = TestRegistry.Start(root: first.Root);
        using (var status = await second.Client.GetAsync(location))
        {
            ((int)status.StatusCode).Should().Be(204);
            status.Header("Range").Should().Be("0-999");
        }
        using (var patch = await second.Client.SendAsync(V2Blobs.Request(HttpMethod.Patch, location, content[1000..], ("Content-Range", "1000-2999"))))
        {
            ((int)patch.StatusCode).Should().Be(202);
            patch.Header("Range").Should().Be("0-2999");
        }
        using (var put = await second.Client.SendAsync(V2Blobs.Request(HttpMethod.Put, $"{location}?digest={digest}", [])))
            ((int)put.StatusCode).Should().Be(201);
        using var get = await second.Client.GetAsync($"/v2/foo/bar/blobs/{digest}");
        (await get.Content.ReadAsByteArrayAsync()).Should().Equal(content);
    }
}
