using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Tests.Support;

namespace Registry.Tests.V2;

public class ManifestTests
{
    private const string Repo = "conformance/repo1";

    private static readonly string[] DockerAcceptLines =
    [
        ManifestDocument.DockerV2,
        ManifestDocument.DockerList,
        ManifestDocument.OciIndex,
        ManifestDocument.OciManifest,
        ManifestDocument.DockerV1Signed,
        "application/json",
    ];

    /// <summary>The envelope with one entry; like Go's encoder, '+' and '\'' are written as they are.</summary>
    private static string Envelope(string code, string message, string detail) =>
        $"{{\"errors\":[{{\"code\":\"{code}\",\"message\":\"{message}\",\"detail\":{JsonSerializer.Serialize(detail, RelaxedJson)}}}]}}";

    private static readonly JsonSerializerOptions RelaxedJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [Test]
    public async Task Put_by_tag_answers_201_with_location_and_digest_and_get_head_serve_the_exact_bytes()
    {
        await using var registry = TestRegistry.Start();
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, Repo);
        var manifest = V2Seed.OciManifest(config, layer);

        using (var put = await registry.Client.PutManifestAsync(Repo, "latest", manifest))
        {
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
            put.Header("Location").Should().Be($"/v2/{Repo}/manifests/{manifest.Digest}");
            put.Header("Docker-Content-Digest").Should().Be(manifest.Digest.ToString());
            put.Content.Headers.ContentLength.Should().Be(0);
            put.Header("Docker-Distribution-API-Version").Should().Be("registry/2.0");
        }

        foreach (var reference in new[] { "latest", manifest.Digest.ToString() })
        {
            using var get = await registry.Client.SendAsync(HttpMethod.Get, $"/v2/{Repo}/manifests/{reference}", ("Accept", ManifestDocument.OciManifest));
            ((int)get.StatusCode).Should().Be(200);
            (await get.Content.ReadAsByteArrayAsync()).Should().Equal(manifest.Bytes);
            get.Header("Content-Type").Should().Be(ManifestDocument.OciManifest);
            get.Content.Headers.ContentLength.Should().Be(manifest.Bytes.Length);
            get.Header("Docker-Content-Digest").Should().Be(manifest.Digest.ToString());
            get.Header("ETag").Should().Be($"\"{manifest.Digest}\"");

            using var head = await registry.Client.SendAsync(HttpMethod.Head, $"/v2/{Repo}/manifests/{reference}", ("Accept", ManifestDocument.OciManifest));
            ((int)head.StatusCode).Should().Be(200);
            (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
            head.Header("Content-Type").Should().Be(ManifestDocument.OciManifest);
            head.Content.Headers.ContentLength.Should().Be(manifest.Bytes.Length);
            head.Header("Docker-Content-Digest").Should().Be(manifest.Digest.ToString());
            head.Header("ETag").Should().Be($"\"{manifest.Digest}\"");
        }

        // docs/storage-layout.md, 'Write order': data, revision, tag index entry and current link, each link holding the digest.
        var storage = registry.Storage;
        (await storage.GetContentAsync(DistributionPaths.BlobData(manifest.Digest), default)).Should().Equal(manifest.Bytes);
        foreach (var link in new[]
                 {
                     DistributionPaths.RevisionLink(Repo, manifest.Digest),
                     DistributionPaths.TagIndexLink(Repo, "latest", manifest.Digest),
                     DistributionPaths.TagCurrentLink(Repo, "latest"),
                 })
            Encoding.ASCII.GetString((await storage.GetContentAsync(link, default))!).Should().Be(manifest.Digest.ToString());
    }

    [Test]
    public async Task A_manifest_with_odd_whitespace_and_unknown_fields_round_trips_byte_for_byte()
    {
        await using var registry = TestRegistry.Start();
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, Repo);
        var text = "{\n   \"schemaVersion\" : 2,\r\n\t\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n" +
                   $"  \"zz-custom\": {{\"b\": [1, 2.50, true, null], \"a\": \"\\u00e9\"}},\n  \"config\": {config.Descriptor},\n" +
                   $"  \"layers\": [ {layer.Descriptor.Replace("}", ",\"data\":\"AAEC\",\"annotations\":{\"x\":\"y\"}}")} ]   ,\n" +
                   "  \"annotations\": {\"org.opencontainers.image.created\": \"2024-01-02T03:04:05Z\"}\n}\n\n";
        var manifest = V2Seed.Manifest(text, ManifestDocument.OciManifest);

        using (var put = await registry.Client.PutManifestAsync(Repo, "odd", manifest))
        {
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
            put.Header("Docker-Content-Digest").Should().Be(manifest.Digest.ToString());
        }
        using var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/odd");
        (await get.Content.ReadAsByteArrayAsync()).Should().Equal(manifest.Bytes);
        get.Header("Docker-Content-Digest").Should().Be(Digest.Compute("sha256", manifest.Bytes).ToString());
    }

    [Test]
    public async Task Put_by_digest_needs_the_bytes_to_hash_to_it()
    {
        await using var registry = TestRegistry.Start();
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, Repo);
        var manifest = V2Seed.OciManifest(config, layer);
        var other = V2Seed.OciManifest(config);

        using (var wrong = await registry.Client.PutManifestAsync(Repo, other.Digest.ToString(), manifest))
        {
            ((int)wrong.StatusCode).Should().Be(400);
            (await wrong.Content.ReadAsStringAsync()).Should().Be(Envelope("DIGEST_INVALID", "provided digest did not match uploaded content",
                $"digest {other.Digest} does not match the manifest digest {manifest.Digest}"));
        }
        using (var malformed = await registry.Client.PutManifestAsync(Repo, "sha256:baddigeststring", manifest))
        {
            ((int)malformed.StatusCode).Should().Be(400);
            (await malformed.Content.ReadAsStringAsync()).Should().Be(Envelope("DIGEST_INVALID", "provided digest did not match uploaded content", "sha256:baddigeststring"));
        }
        using (var getMalformed = await registry.Client.GetAsync($"/v2/{Repo}/manifests/sha256:baddigeststring"))
            ((int)getMalformed.StatusCode).Should().Be(400);

        using (var right = await registry.Client.PutManifestAsync(Repo, manifest.Digest.ToString(), manifest))
        {
            ((int)right.StatusCode).Should().Be(201);
            right.Header("Location").Should().Be($"/v2/{Repo}/manifests/{manifest.Digest}");
            right.Header("Docker-Content-Digest").Should().Be(manifest.Digest.ToString());
        }
        // By digest only: no tag was created, so the repository has an empty tag list... and no tags directory.
        (await registry.Storage.DirectoryExistsAsync(DistributionPaths.TagsDir(Repo), default)).Should().BeFalse();
    }

    [Test]
    public async Task A_sha512_put_by_digest_is_stored_and_served_under_sha512()
    {
        await using var registry = TestRegistry.Start();
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, Repo);
        var manifest = V2Seed.OciManifest(config, layer);
        var sha512 = Digest.Compute("sha512", manifest.Bytes);

        using (var put = await registry.Client.PutManifestAsync(Repo, sha512.ToString(), manifest))
        {
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
            put.Header("Location").Should().Be($"/v2/{Repo}/manifests/{sha512}");
            put.Header("Docker-Content-Digest").Should().Be(sha512.ToString());
        }
        using var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{sha512}");
        ((int)get.StatusCode).Should().Be(200);
        get.Header("Docker-Content-Digest").Should().Be(sha512.ToString());
        (await get.Content.ReadAsByteArrayAsync()).Should().Equal(manifest.Bytes);
        (await registry.Storage.ExistsAsync(DistributionPaths.BlobData(sha512), default)).Should().BeTrue();
    }

    [Test]
    public async Task Every_missing_reference_is_reported_once_in_descriptor_order_and_nothing_is_stored()
    {
        await using var registry = TestRegistry.Start();
        var config = new SeededBlob(Digest.Compute("sha256", "{}"u8), "{}"u8.ToArray(), V2Seed.OciConfigType);
        var present = await V2Seed.BlobAsync(registry, Repo, V1Client.RandomBytes(10));
        var layer1 = new SeededBlob(Digest.Compute("sha256", [1]), [1], V2Seed.OciLayerType);
        // Present globally and linked in another repository only: still unknown here (docs/client-behaviour.md, 'V2 edge cases' item 13).
        var elsewhere = await V2Seed.BlobAsync(registry, "other/repo", V1Client.RandomBytes(20));
        var manifest = V2Seed.OciManifest(config, layer1, present, elsewhere);

        using var put = await registry.Client.PutManifestAsync(Repo, "latest", manifest);
        ((int)put.StatusCode).Should().Be(400);
        put.Header("Content-Type").Should().Be("application/json");
        (await put.Content.ReadAsStringAsync()).Should().Be(
            "{\"errors\":[" +
            $"{{\"code\":\"MANIFEST_BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\",\"detail\":\"{config.Digest}\"}}," +
            $"{{\"code\":\"MANIFEST_BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\",\"detail\":\"{layer1.Digest}\"}}," +
            $"{{\"code\":\"MANIFEST_BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\",\"detail\":\"{elsewhere.Digest}\"}}]}}");
        (await registry.Storage.ExistsAsync(DistributionPaths.BlobData(manifest.Digest), default)).Should().BeFalse();
        (await registry.Storage.ExistsAsync(DistributionPaths.RevisionLink(Repo, manifest.Digest), default)).Should().BeFalse();
    }

    [Test]
    public async Task A_malformed_descriptor_digest_is_digest_invalid()
    {
        await using var registry = TestRegistry.Start();
        var config = await V2Seed.BlobAsync(registry, Repo, "{}"u8.ToArray(), V2Seed.OciConfigType);
        var manifest = V2Seed.Manifest(
            $"{{\"schemaVersion\":2,\"config\":{config.Descriptor},\"layers\":[{{\"mediaType\":\"{V2Seed.OciLayerType}\",\"digest\":\"sha256:ABC\",\"size\":1}}]}}",
            ManifestDocument.OciManifest);
        using var put = await registry.Client.PutManifestAsync(Repo, "latest", manifest);
        ((int)put.StatusCode).Should().Be(400);
        (await put.Content.ReadAsStringAsync()).Should().Be(Envelope("DIGEST_INVALID", "provided digest did not match uploaded content", "sha256:ABC"));
    }

    [TestCase(ManifestDocument.DockerV1Signed, "{\"schemaVersion\":1,\"name\":\"x\",\"tag\":\"latest\",\"fsLayers\":[]}")]
    [TestCase(ManifestDocument.DockerV1, "{\"schemaVersion\":2}")]
    [TestCase("application/json", "{\"schemaVersion\":1,\"name\":\"x\",\"tag\":\"latest\",\"fsLayers\":[]}")]
    [TestCase(null, "{\"schemaVersion\":1}")]
    public async Task Schema_1_is_refused_with_the_exact_message(string? contentType, string body)
    {
        await using var registry = TestRegistry.Start();
        using var put = await registry.Client.PutManifestAsync(Repo, "latest", Encoding.UTF8.GetBytes(body), contentType);
        ((int)put.StatusCode).Should().Be(400);
        (await put.Content.ReadAsStringAsync()).Should().Be(
            "{\"errors\":[{\"code\":\"MANIFEST_INVALID\",\"message\":\"manifest invalid\",\"detail\":\"schema 1 manifests are not supported; push with a client that produces schema 2 or OCI manifests\"}]}");
    }

    [TestCase(ManifestDocument.OciManifest, "not json", "manifest is not a JSON object")]
    [TestCase(ManifestDocument.OciManifest, "[1]", "manifest is not a JSON object")]
    [TestCase(ManifestDocument.OciManifest, "{\"schemaVersion\":3,\"config\":{}}", "unsupported schemaVersion 3; expected 2")]
    [TestCase(ManifestDocument.OciManifest, "{\"config\":{}}", "unsupported schemaVersion 0; expected 2")]
    [TestCase(ManifestDocument.DockerV2, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{}}",
        "mediaType application/vnd.oci.image.manifest.v1+json does not match the Content-Type application/vnd.docker.distribution.manifest.v2+json")]
    [TestCase(ManifestDocument.DockerV2, "{\"schemaVersion\":2,\"config\":{}}", "mediaType is required in a application/vnd.docker.distribution.manifest.v2+json manifest")]
    [TestCase(ManifestDocument.OciManifest, "{\"schemaVersion\":2,\"config\":{},\"layers\":[],\"manifests\":[]}", "an OCI image manifest must not have a manifests field")]
    [TestCase(ManifestDocument.OciIndex, "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}", "an OCI image index must not have config or layers fields")]
    [TestCase(ManifestDocument.OciIndex, "{\"schemaVersion\":2,\"manifests\":[],\"config\":{}}", "an OCI image index must not have config or layers fields")]
    [TestCase(ManifestDocument.OciManifest, "{\"schemaVersion\":2,\"layers\":[]}", "an image manifest needs a config descriptor")]
    [TestCase("application/json", "{\"schemaVersion\":2,\"mediaType\":\"application/x-other\"}", "unsupported manifest media type application/x-other")]
    public async Task Invalid_manifests_are_400_manifest_invalid_with_a_detail(string contentType, string body, string detail)
    {
        await using var registry = TestRegistry.Start();
        using var put = await registry.Client.PutManifestAsync(Repo, "latest", Encoding.UTF8.GetBytes(body), contentType);
        ((int)put.StatusCode).Should().Be(400);
        (await put.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_INVALID", "manifest invalid", detail));
    }

    [Test]
    public async Task Without_a_usable_content_type_the_body_decides_the_type()
    {
        await using var registry = TestRegistry.Start();
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, Repo);
        var docker = V2Seed.DockerManifest(config, layer);
        var oci = V2Seed.Manifest($"{{\"schemaVersion\":2,\"config\":{config.Descriptor},\"layers\":[]}}", ManifestDocument.OciManifest);

        using (var put = await registry.Client.PutManifestAsync(Repo, "docker", docker.Bytes, "application/json")) ((int)put.StatusCode).Should().Be(201);
        using (var put = await registry.Client.PutManifestAsync(Repo, "oci", oci.Bytes, null)) ((int)put.StatusCode).Should().Be(201);

        using (var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/docker")) get.Header("Content-Type").Should().Be(ManifestDocument.DockerV2);
        using (var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/oci")) get.Header("Content-Type").Should().Be(ManifestDocument.OciManifest);
    }

    [Test]
    public async Task A_manifest_over_4_MiB_is_413()
    {
        await using var registry = TestRegistry.Start();
        var body = new byte[4 * 1024 * 1024 + 1];
        Array.Fill(body, (byte)' ');
        using var put = await registry.Client.PutManifestAsync(Repo, "latest", body, ManifestDocument.OciManifest);
        ((int)put.StatusCode).Should().Be(413);
        (await put.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_INVALID", "manifest invalid", "manifest is larger than the 4194304-byte limit"));
    }

    [Test]
    public async Task An_invalid_tag_is_400_tag_invalid_on_put_and_404_manifest_unknown_on_get()
    {
        await using var registry = TestRegistry.Start();
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, Repo);
        var manifest = V2Seed.OciManifest(config, layer);
        var longTag = new string('a', 129);

        foreach (var tag in new[] { "-bad", ".bad", longTag })
        {
            using var put = await registry.Client.PutManifestAsync(Repo, tag, manifest);
            ((int)put.StatusCode).Should().Be(400);
            (await put.Content.ReadAsStringAsync()).Should().Be(Envelope("TAG_INVALID", "manifest tag did not match URI", tag));

            using var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{tag}");
            ((int)get.StatusCode).Should().Be(404);
            (await get.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_UNKNOWN", "manifest unknown", $"unknown tag={tag}"));
        }
        using (var put = await registry.Client.PutManifestAsync(Repo, $"{manifest.Digest}?tag=ok&tag=-bad", manifest))
        {
            ((int)put.StatusCode).Should().Be(400);
            (await put.Content.ReadAsStringAsync()).Should().Be(Envelope("TAG_INVALID", "manifest tag did not match URI", "-bad"));
        }
    }

    [Test]
    public async Task Pull_checks_of_the_conformance_suite()
    {
        await using var registry = TestRegistry.Start();
        var tagged = await V2Seed.PushImageAsync(registry, Repo, "tagged");
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, Repo);
        var byDigest = V2Seed.OciManifest(config, layer);
        await registry.Client.PushManifestAsync(Repo, byDigest.Digest.ToString(), byDigest);
        var missing = Digest.Compute("sha256", "missing"u8).ToString();

        using (var head = await registry.Client.SendAsync(HttpMethod.Head, $"/v2/{Repo}/manifests/{missing}"))
        {
            ((int)head.StatusCode).Should().Be(404);
            (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        }
        using (var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{missing}"))
        {
            ((int)get.StatusCode).Should().Be(404);
            (await get.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_UNKNOWN", "manifest unknown", $"unknown manifest={missing}"));
        }
        using (var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/nosuchtag"))
        {
            ((int)get.StatusCode).Should().Be(404);
            (await get.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_UNKNOWN", "manifest unknown", "unknown tag=nosuchtag"));
        }
        foreach (var m in new[] { tagged, byDigest })
        {
            using var head = await registry.Client.SendAsync(HttpMethod.Head, $"/v2/{Repo}/manifests/{m.Digest}", ("Accept", ManifestDocument.OciManifest));
            ((int)head.StatusCode).Should().Be(200);
            head.Header("Docker-Content-Digest").Should().Be(m.Digest.ToString());
            using var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{m.Digest}");
            (await get.Content.ReadAsByteArrayAsync()).Should().Equal(m.Bytes);
        }
        using (var bad = await registry.Client.GetAsync($"/v2/{Repo}/manifests/sha256:totallywrong"))
        {
            ((int)bad.StatusCode).Should().Be(400);
            (await bad.Content.ReadAsStringAsync()).Should().Be(Envelope("DIGEST_INVALID", "provided digest did not match uploaded content", "sha256:totallywrong"));
        }
    }

    [Test]
    public async Task Docker_six_accept_lines_get_the_oci_manifest_and_docker_types_are_served_as_stored()
    {
        await using var registry = TestRegistry.Start();
        var oci = await V2Seed.PushImageAsync(registry, Repo, "oci");
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, Repo);
        var docker = V2Seed.DockerManifest(config, layer);
        await registry.Client.PushManifestAsync(Repo, "docker", docker);

        var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{Repo}/manifests/oci");
        foreach (var line in DockerAcceptLines.Reverse()) request.Headers.TryAddWithoutValidation("Accept", line);
        using (var get = await registry.Client.SendAsync(request))
        {
            ((int)get.StatusCode).Should().Be(200);
            get.Header("Content-Type").Should().Be(ManifestDocument.OciManifest);
        }

        // A schema 2 manifest asked for with schema 1 only: served as is, never down-converted.
        using (var get = await registry.Client.SendAsync(HttpMethod.Get, $"/v2/{Repo}/manifests/docker", ("Accept", ManifestDocument.DockerV1Signed)))
        {
            ((int)get.StatusCode).Should().Be(200);
            get.Header("Content-Type").Should().Be(ManifestDocument.DockerV2);
            (await get.Content.ReadAsByteArrayAsync()).Should().Equal(docker.Bytes);
        }

        foreach (var accept in new[] { "*/*", "text/html, application/xhtml+xml, */*;q=0.8", $"application/json;q=0.5,  {ManifestDocument.OciManifest} ; q=0.9" })
        {
            using var get = await registry.Client.SendAsync(HttpMethod.Get, $"/v2/{Repo}/manifests/{oci.Digest}", ("Accept", accept));
            ((int)get.StatusCode).Should().Be(200, accept);
        }
        using (var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/oci"))
            ((int)get.StatusCode).Should().Be(200);
    }

    [Test]
    public async Task Oci_types_not_in_accept_are_404_with_distribution_messages()
    {
        await using var registry = TestRegistry.Start();
        var oci = await V2Seed.PushImageAsync(registry, Repo, "oci");
        var index = V2Seed.Index(ManifestDocument.OciIndex, oci);
        await registry.Client.PushManifestAsync(Repo, "index", index);

        using (var get = await registry.Client.SendAsync(HttpMethod.Get, $"/v2/{Repo}/manifests/oci",
                   ("Accept", $"{ManifestDocument.DockerV2}, {ManifestDocument.DockerList}")))
        {
            ((int)get.StatusCode).Should().Be(404);
            (await get.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_UNKNOWN", "manifest unknown", "OCI manifest found, but accept header does not support OCI manifests"));
        }
        using (var get = await registry.Client.SendAsync(HttpMethod.Get, $"/v2/{Repo}/manifests/{index.Digest}", ("Accept", ManifestDocument.OciManifest)))
        {
            ((int)get.StatusCode).Should().Be(404);
            (await get.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_UNKNOWN", "manifest unknown", "OCI index found, but accept header does not support OCI indexes"));
        }
        using (var head = await registry.Client.SendAsync(HttpMethod.Head, $"/v2/{Repo}/manifests/index", ("Accept", ManifestDocument.DockerV2)))
        {
            ((int)head.StatusCode).Should().Be(404);
            (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        }
    }

    [Test]
    public async Task If_none_match_with_the_digest_is_304_without_a_body()
    {
        await using var registry = TestRegistry.Start();
        var manifest = await V2Seed.PushImageAsync(registry, Repo, "latest");
        foreach (var value in new[] { $"\"{manifest.Digest}\"", manifest.Digest.ToString(), $"\"sha256:{new string('0', 64)}\", W/\"{manifest.Digest}\"" })
        {
            using var get = await registry.Client.SendAsync(HttpMethod.Get, $"/v2/{Repo}/manifests/latest", ("If-None-Match", value));
            ((int)get.StatusCode).Should().Be(304, value);
            (await get.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
            get.Header("ETag").Should().Be($"\"{manifest.Digest}\"");
            get.Header("Docker-Content-Digest").Should().Be(manifest.Digest.ToString());
        }
        using (var other = await registry.Client.SendAsync(HttpMethod.Get, $"/v2/{Repo}/manifests/latest", ("If-None-Match", $"\"sha256:{new string('0', 64)}\"")))
            ((int)other.StatusCode).Should().Be(200);
    }

    [TestCase(ManifestDocument.OciIndex)]
    [TestCase(ManifestDocument.DockerList)]
    public async Task Index_children_must_be_manifest_revisions_of_this_repository(string indexType)
    {
        await using var registry = TestRegistry.Start();
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, Repo);
        var child = V2Seed.DockerManifest(config, layer);
        var index = V2Seed.Index(indexType, child);

        // The child exists only as a blob (linked as a layer), not as a revision: still unknown.
        await V2Seed.BlobAsync(registry, Repo, child.Bytes);
        using (var put = await registry.Client.PutManifestAsync(Repo, "multi", index))
        {
            ((int)put.StatusCode).Should().Be(400);
            (await put.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", child.Digest.ToString()));
        }

        await registry.Client.PushManifestAsync(Repo, child.Digest.ToString(), child);
        await registry.Client.PushManifestAsync(Repo, "multi", index);
        using var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/multi");
        ((int)get.StatusCode).Should().Be(200);
        get.Header("Content-Type").Should().Be(indexType);
        (await get.Content.ReadAsByteArrayAsync()).Should().Equal(index.Bytes);
    }

    [Test]
    public async Task Foreign_layers_with_http_urls_are_not_looked_up_but_their_urls_are_checked()
    {
        await using var registry = TestRegistry.Start();
        var config = await V2Seed.BlobAsync(registry, Repo, "{\"os\":\"windows\"}"u8.ToArray(), V2Seed.DockerConfigType);
        var foreignDigest = Digest.Compute("sha256", "foreign"u8);
        string Foreign(string urls) =>
            $"{{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\"digest\":\"{foreignDigest}\",\"size\":7{urls}}}";
        SeededManifest With(string layer) => V2Seed.Manifest(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{ManifestDocument.DockerV2}\",\"config\":{config.Descriptor},\"layers\":[{layer}]}}", ManifestDocument.DockerV2);

        await registry.Client.PushManifestAsync(Repo, "windows", With(Foreign(",\"urls\":[\"https://mcr.microsoft.com/v2/x/blobs/y\"]")));
        var nonDistributable = V2Seed.Manifest(
            $"{{\"schemaVersion\":2,\"config\":{config.Descriptor},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip\",\"digest\":\"{foreignDigest}\",\"size\":7,\"urls\":[\"http://example.com/l\"]}}]}}",
            ManifestDocument.OciManifest);
        await registry.Client.PushManifestAsync(Repo, "nondist", nonDistributable);

        foreach (var (layer, detail) in new[]
                 {
                     (Foreign(""), $"foreign layer {foreignDigest} has no urls"),
                     (Foreign(",\"urls\":[\"ftp://example.com/x\"]"), $"layer {foreignDigest} has an invalid url ftp://example.com/x"),
                     (Foreign(",\"urls\":[\"https://example.com/x#frag\"]"), $"layer {foreignDigest} has an invalid url https://example.com/x#frag"),
                 })
        {
            using var put = await registry.Client.PutManifestAsync(Repo, "bad", With(layer));
            ((int)put.StatusCode).Should().Be(400);
            (await put.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_INVALID", "manifest invalid", detail));
        }
    }

    [Test]
    public async Task Put_by_digest_with_tag_query_tags_each_and_echoes_oci_tag()
    {
        await using var registry = TestRegistry.Start();
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, Repo);
        var manifest = V2Seed.OciManifest(config, layer);

        using (var put = await registry.Client.PutManifestAsync(Repo, $"{manifest.Digest}?tag=v1&tag=v1.0&tag=v1", manifest))
        {
            ((int)put.StatusCode).Should().Be(201);
            put.Header("OCI-Tag").Should().Be("v1, v1.0");
            put.Header("Location").Should().Be($"/v2/{Repo}/manifests/{manifest.Digest}");
        }
        foreach (var tag in new[] { "v1", "v1.0" })
        {
            using var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{tag}");
            (await get.Content.ReadAsByteArrayAsync()).Should().Equal(manifest.Bytes);
        }
    }

    [Test]
    public async Task Re_put_is_idempotent_and_retagging_moves_current_and_keeps_the_index()
    {
        await using var registry = TestRegistry.Start();
        var first = await V2Seed.PushImageAsync(registry, Repo, "latest");
        await registry.Client.PushManifestAsync(Repo, "latest", first);
        await registry.Client.PushManifestAsync(Repo, first.Digest.ToString(), first);
        var second = await V2Seed.PushImageAsync(registry, Repo, "latest");

        using (var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/latest"))
            get.Header("Docker-Content-Digest").Should().Be(second.Digest.ToString());
        using (var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{first.Digest}"))
            ((int)get.StatusCode).Should().Be(200);
        var index = await registry.Storage.ListAsync(DistributionPaths.TagDir(Repo, "latest") + "/index/sha256", default);
        index.Select(DistributionPaths.FileName).Should().BeEquivalentTo(first.Digest.Hex, second.Digest.Hex);
    }

    [Test]
    public async Task Deletes_are_405_unsupported_unless_enabled()
    {
        await using var registry = TestRegistry.Start();
        var manifest = await V2Seed.PushImageAsync(registry, Repo, "latest");
        foreach (var reference in new[] { "latest", manifest.Digest.ToString(), "unknown" })
        {
            using var delete = await registry.Client.DeleteAsync($"/v2/{Repo}/manifests/{reference}");
            ((int)delete.StatusCode).Should().Be(405);
            (await delete.Content.ReadAsStringAsync()).Should().Be("{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"The operation is unsupported.\"}]}");
        }
        using var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/latest");
        ((int)get.StatusCode).Should().Be(200);
    }

    [Test]
    public async Task Delete_by_digest_removes_the_revision_and_its_tags_at_once_and_keeps_the_data()
    {
        await using var registry = TestRegistry.Start(V2Seed.DeleteEnabled);
        var manifest = await V2Seed.PushImageAsync(registry, Repo, "latest");
        await registry.Client.PushManifestAsync(Repo, "stable", manifest);
        var other = await V2Seed.PushImageAsync(registry, Repo, "other");

        using (var delete = await registry.Client.DeleteAsync($"/v2/{Repo}/manifests/{manifest.Digest}"))
        {
            ((int)delete.StatusCode).Should().Be(202);
            delete.Content.Headers.ContentLength.Should().Be(0);
            (await delete.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        }
        foreach (var reference in new[] { manifest.Digest.ToString(), "latest", "stable" })
        {
            using var head = await registry.Client.SendAsync(HttpMethod.Head, $"/v2/{Repo}/manifests/{reference}");
            ((int)head.StatusCode).Should().Be(404, reference);
        }
        using (var again = await registry.Client.DeleteAsync($"/v2/{Repo}/manifests/{manifest.Digest}"))
        {
            ((int)again.StatusCode).Should().Be(404);
            (await again.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_UNKNOWN", "manifest unknown", $"unknown manifest={manifest.Digest}"));
        }
        using (var tags = await registry.Client.GetAsync($"/v2/{Repo}/tags/list"))
            (await tags.Content.ReadAsStringAsync()).Should().Be($"{{\"name\":\"{Repo}\",\"tags\":[\"other\"]}}");
        (await registry.Storage.ExistsAsync(DistributionPaths.BlobData(manifest.Digest), default)).Should().BeTrue();
        (await registry.Storage.DirectoryExistsAsync(DistributionPaths.TagDir(Repo, "latest"), default)).Should().BeFalse();
        using (var head = await registry.Client.SendAsync(HttpMethod.Head, $"/v2/{Repo}/manifests/other"))
            head.Header("Docker-Content-Digest").Should().Be(other.Digest.ToString());
    }

    [Test]
    public async Task Management_checks_delete_tag_then_manifest_then_tags_list_shrinks()
    {
        await using var registry = TestRegistry.Start(V2Seed.DeleteEnabled);
        var manifest = await V2Seed.PushImageAsync(registry, Repo, "tagtest0");
        await registry.Client.PushManifestAsync(Repo, "tagtest1", manifest);

        using (var delete = await registry.Client.DeleteAsync($"/v2/{Repo}/manifests/tagtest0"))
            ((int)delete.StatusCode).Should().Be(202);
        using (var head = await registry.Client.SendAsync(HttpMethod.Head, $"/v2/{Repo}/manifests/tagtest0"))
            ((int)head.StatusCode).Should().Be(404);
        using (var byDigest = await registry.Client.SendAsync(HttpMethod.Head, $"/v2/{Repo}/manifests/{manifest.Digest}"))
            ((int)byDigest.StatusCode).Should().Be(200, "a tag delete keeps the revision");
        using (var tags = await registry.Client.GetAsync($"/v2/{Repo}/tags/list"))
            (await tags.Content.ReadAsStringAsync()).Should().Be($"{{\"name\":\"{Repo}\",\"tags\":[\"tagtest1\"]}}");
        using (var unknown = await registry.Client.DeleteAsync($"/v2/{Repo}/manifests/tagtest0"))
        {
            ((int)unknown.StatusCode).Should().Be(404);
            (await unknown.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_UNKNOWN", "manifest unknown", "unknown tag=tagtest0"));
        }

        using (var delete = await registry.Client.DeleteAsync($"/v2/{Repo}/manifests/{manifest.Digest}"))
            ((int)delete.StatusCode).Should().Be(202);
        using (var head = await registry.Client.SendAsync(HttpMethod.Head, $"/v2/{Repo}/manifests/{manifest.Digest}"))
            ((int)head.StatusCode).Should().Be(404);
        using (var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/tagtest1"))
            ((int)get.StatusCode).Should().Be(404);
        using (var tags = await registry.Client.GetAsync($"/v2/{Repo}/tags/list"))
            ((int)tags.StatusCode).Should().Be(404, "no tag remains");
        using (var bad = await registry.Client.DeleteAsync($"/v2/{Repo}/manifests/sha256:nothex"))
            ((int)bad.StatusCode).Should().Be(400);
    }

    [Test]
    public async Task A_tag_whose_revision_or_data_is_gone_is_404_not_500()
    {
        await using var registry = TestRegistry.Start();
        var revisionGone = await V2Seed.PushImageAsync(registry, Repo, "norevision");
        var dataGone = await V2Seed.PushImageAsync(registry, Repo, "nodata");
        await registry.Storage.DeleteAsync(DistributionPaths.RevisionLink(Repo, revisionGone.Digest), default);
        await registry.Storage.DeleteAsync(DistributionPaths.BlobDir(dataGone.Digest), default);

        foreach (var tag in new[] { "norevision", "nodata" })
        {
            using var get = await registry.Client.GetAsync($"/v2/{Repo}/manifests/{tag}");
            ((int)get.StatusCode).Should().Be(404);
            (await get.Content.ReadAsStringAsync()).Should().Be(Envelope("MANIFEST_UNKNOWN", "manifest unknown", $"unknown tag={tag}"));
        }
        // Listed as distribution lists them (the tags directory's entries, links unread), though neither pulls.
        using var tags = await registry.Client.GetAsync($"/v2/{Repo}/tags/list");
        (await tags.Content.ReadAsStringAsync()).Should().Be($"{{\"name\":\"{Repo}\",\"tags\":[\"nodata\",\"norevision\"]}}");
    }

    [Test]
    public async Task A_stored_schema_1_revision_is_served_as_prettyjws()
    {
        await using var registry = TestRegistry.Start();
        var bytes = "{\n   \"schemaVersion\": 1,\n   \"name\": \"old/image\",\n   \"tag\": \"latest\",\n   \"fsLayers\": []\n}"u8.ToArray();
        var digest = Digest.Compute("sha256", bytes);
        await registry.Storage.PutContentAsync(DistributionPaths.BlobData(digest), bytes, default);
        await DistributionLinks.WriteAsync(registry.Storage, DistributionPaths.RevisionLink("old/image", digest), digest, default);
        await DistributionLinks.WriteAsync(registry.Storage, DistributionPaths.TagCurrentLink("old/image", "latest"), digest, default);

        using var get = await registry.Client.GetAsync("/v2/old/image/manifests/latest");
        ((int)get.StatusCode).Should().Be(200);
        get.Header("Content-Type").Should().Be(ManifestDocument.DockerV1Signed);
        (await get.Content.ReadAsByteArrayAsync()).Should().Equal(bytes);
    }

    [Test]
    public async Task A_pushed_tag_makes_the_repository_searchable_and_deleting_the_last_tag_removes_it()
    {
        await using var registry = TestRegistry.Start(V2Seed.DeleteEnabled);
        const string name = "searchable/thing";
        var manifest = await V2Seed.PushImageAsync(registry, name, "latest");
        await registry.Client.PushManifestAsync(name, "v2", manifest);

        (await SearchNamesAsync(registry, "thing")).Should().Equal(name);
        using (var delete = await registry.Client.DeleteAsync($"/v2/{name}/manifests/latest")) ((int)delete.StatusCode).Should().Be(202);
        (await SearchNamesAsync(registry, "thing")).Should().Equal(name);
        using (var delete = await registry.Client.DeleteAsync($"/v2/{name}/manifests/v2")) ((int)delete.StatusCode).Should().Be(202);
        (await SearchNamesAsync(registry, "thing")).Should().BeEmpty();

        await registry.Client.PushManifestAsync(name, "back", manifest);
        (await SearchNamesAsync(registry, "thing")).Should().Equal(name);
        using (var delete = await registry.Client.DeleteAsync($"/v2/{name}/manifests/{manifest.Digest}")) ((int)delete.StatusCode).Should().Be(202);
        (await SearchNamesAsync(registry, "thing")).Should().BeEmpty();
    }

    [Test]
    public async Task Referrers_list_the_manifests_whose_subject_is_the_digest_with_artifact_type_and_annotations()
    {
        await using var registry = TestRegistry.Start();
        var image = await V2Seed.PushImageAsync(registry, Repo, "latest");
        var empty = await V2Seed.BlobAsync(registry, Repo, "{}"u8.ToArray(), "application/vnd.oci.empty.v1+json");
        var subject = $"{{\"mediaType\":\"{ManifestDocument.OciManifest}\",\"digest\":\"{image.Digest}\",\"size\":{image.Bytes.Length}}}";
        var sbom = V2Seed.Manifest(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{ManifestDocument.OciManifest}\",\"artifactType\":\"application/vnd.example.sbom\",\"config\":{empty.Descriptor},\"layers\":[],\"subject\":{subject},\"annotations\":{{\"kind\":\"sbom\"}}}}",
            ManifestDocument.OciManifest);
        var signature = V2Seed.Manifest(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{ManifestDocument.OciManifest}\",\"config\":{empty.Descriptor.Replace("application/vnd.oci.empty.v1+json", "application/vnd.example.sig")},\"layers\":[],\"subject\":{subject}}}",
            ManifestDocument.OciManifest);
        var unpushedSubject = Digest.Compute("sha256", "never pushed"u8);
        var orphan = V2Seed.Manifest(
            $"{{\"schemaVersion\":2,\"artifactType\":\"application/vnd.example.sbom\",\"config\":{empty.Descriptor},\"layers\":[],\"subject\":{{\"mediaType\":\"{ManifestDocument.OciManifest}\",\"digest\":\"{unpushedSubject}\",\"size\":1}}}}",
            ManifestDocument.OciManifest);

        foreach (var (manifest, subjectDigest) in new[] { (sbom, image.Digest), (signature, image.Digest), (orphan, unpushedSubject) })
        {
            using var put = await registry.Client.PutManifestAsync(Repo, manifest.Digest.ToString(), manifest);
            ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
            put.Header("OCI-Subject").Should().Be(subjectDigest.ToString());
        }

        string Entry(SeededManifest m, string artifactType, string annotations) =>
            $"{{\"mediaType\":\"{ManifestDocument.OciManifest}\",\"size\":{m.Bytes.Length},\"digest\":\"{m.Digest}\",\"artifactType\":\"{artifactType}\"{annotations}}}";
        string Index(params string[] entries) =>
            JsonNode.Parse($"{{\"schemaVersion\":2,\"mediaType\":\"{ManifestDocument.OciIndex}\",\"manifests\":[{string.Join(",", entries)}]}}")!.ToJsonString();
        var sbomEntry = Entry(sbom, "application/vnd.example.sbom", ",\"annotations\":{\"kind\":\"sbom\"}");
        var signatureEntry = Entry(signature, "application/vnd.example.sig", "");
        var all = string.CompareOrdinal(sbom.Digest.ToString(), signature.Digest.ToString()) < 0 ? new[] { sbomEntry, signatureEntry } : [signatureEntry, sbomEntry];

        using (var list = await registry.Client.GetAsync($"/v2/{Repo}/referrers/{image.Digest}"))
        {
            ((int)list.StatusCode).Should().Be(200);
            list.Header("Content-Type").Should().Be(ManifestDocument.OciIndex);
            list.Header("OCI-Filters-Applied").Should().BeNull();
            (await list.Content.ReadAsStringAsync()).Should().Be(Index(all));
        }
        using (var filtered = await registry.Client.GetAsync($"/v2/{Repo}/referrers/{image.Digest}?artifactType=application/vnd.example.sig"))
        {
            filtered.Header("OCI-Filters-Applied").Should().Be("artifactType");
            (await filtered.Content.ReadAsStringAsync()).Should().Be(Index(signatureEntry));
        }
        using (var unpushed = await registry.Client.GetAsync($"/v2/{Repo}/referrers/{unpushedSubject}"))
            (await unpushed.Content.ReadAsStringAsync()).Should().Be(Index(Entry(orphan, "application/vnd.example.sbom", "")));
        using (var none = await registry.Client.GetAsync($"/v2/never/pushed/referrers/{image.Digest}"))
        {
            ((int)none.StatusCode).Should().Be(200);
            (await none.Content.ReadAsStringAsync()).Should().Be(Index());
        }
        using (var bad = await registry.Client.GetAsync($"/v2/{Repo}/referrers/sha256:nothex"))
        {
            ((int)bad.StatusCode).Should().Be(400);
            (await bad.Content.ReadAsStringAsync()).Should().Be(Envelope("DIGEST_INVALID", "provided digest did not match uploaded content", "sha256:nothex"));
        }
    }

    private static async Task<string[]> SearchNamesAsync(TestRegistry registry, string query)
    {
        using var response = await registry.Client.GetAsync($"/v1/search?q={query}");
        ((int)response.StatusCode).Should().Be(200);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return json["results"]!.AsArray().Select(r => (string)r!["name"]!).ToArray();
    }
}
