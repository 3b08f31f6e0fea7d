using System.Net.Http.Headers;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Tests.Support;

namespace Registry.Tests.V2.Proxy;

/// <summary>
/// The v2 pull-through cache (docs/configuration.md, 'Mirror') against a real upstream: Debian's Go registry 2.8,
/// seeded by a v2 push, one per fixture (tests use their own repository names). The mirror is the real app in process.
/// </summary>
public class PullThroughTests : GoUpstreamFixture
{
    private TestRegistry Mirror(string ttl = "168h", string? url = null) => TestRegistry.Start(new Dictionary<string, string>
    {
        ["REGISTRY_PROXY_REMOTEURL"] = url ?? Upstream.Url,
        ["REGISTRY_PROXY_TTL"] = ttl,
    });

    [Test]
    public async Task A_miss_is_fetched_verified_stored_and_then_served_without_theUpstream()
    {
        var layer = V1Client.RandomBytes(300_000);
        var (manifest, config, layers) = await GoRegistry.PushImageAsync(UpstreamClient, "team/first", "v1", layer);
        await using var mirror = Mirror();

        using var byTag = await mirror.Client.SendAsync(HttpMethod.Get, "/v2/team/first/manifests/v1", ("Accept", ManifestDocument.DockerV2));
        ((int)byTag.StatusCode).Should().Be(200, await byTag.Content.ReadAsStringAsync());
        byTag.Header("Docker-Content-Digest").Should().Be(manifest.Digest.ToString());
        byTag.Content.Headers.ContentType!.MediaType.Should().Be(ManifestDocument.DockerV2);
        byTag.Content.Headers.ContentLength.Should().Be(manifest.Bytes.Length);
        (await byTag.Content.ReadAsByteArrayAsync()).Should().Equal(manifest.Bytes);

        using var byDigest = await mirror.Client.GetAsync($"/v2/team/first/manifests/{manifest.Digest}");
        ((int)byDigest.StatusCode).Should().Be(200);
        (await byDigest.Content.ReadAsByteArrayAsync()).Should().Equal(manifest.Bytes);

        foreach (var blob in new[] { config, layers[0] })
        {
            using var head = await mirror.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/team/first/blobs/{blob.Digest}"));
            ((int)head.StatusCode).Should().Be(200);
            head.Content.Headers.ContentLength.Should().Be(blob.Content.Length);
            head.Header("Docker-Content-Digest").Should().Be(blob.Digest.ToString());

            using var get = await mirror.Client.GetAsync($"/v2/team/first/blobs/{blob.Digest}");
            ((int)get.StatusCode).Should().Be(200);
            get.Header("Docker-Content-Digest").Should().Be(blob.Digest.ToString());
            get.Content.Headers.ContentLength.Should().Be(blob.Content.Length);
            (await get.Content.ReadAsByteArrayAsync()).Should().Equal(blob.Content);
        }

        // Cached: the repository is listed like a pushed one, and the upstream is not asked again. The Go registry
        // writes its access log after answering: wait (bounded) for the line of the last request made so far.
        for (var wait = 0; wait < 100 && Upstream.Count("GET", $"/v2/team/first/blobs/{layers[0].Digest}") == 0; wait++) await Task.Delay(50);
        // A fetched blob is linked into the repository just after its last byte went out: wait (bounded) for the link.
        foreach (var blob in new[] { config, layers[0] })
        for (var wait = 0; wait < 100 && !await mirror.Storage.ExistsAsync(DistributionPaths.LayerLink("team/first", blob.Digest), CancellationToken.None); wait++)
            await Task.Delay(50);
        var before = Upstream.Requests.Count;
        using var again = await mirror.Client.GetAsync($"/v2/team/first/blobs/{layers[0].Digest}");
        (await again.Content.ReadAsByteArrayAsync()).Should().Equal(layer);
        using var manifestAgain = await mirror.Client.GetAsync("/v2/team/first/manifests/v1");
        ((int)manifestAgain.StatusCode).Should().Be(200);
        Upstream.Requests.Count.Should().Be(before);
        Upstream.Count("GET", $"/v2/team/first/blobs/{layers[0].Digest}").Should().Be(1);
        (await mirror.Client.GetStringAsync("/v2/_catalog")).Should().Be("{\"repositories\":[\"team/first\"]}");
        (await mirror.Client.GetStringAsync("/v2/team/first/tags/list")).Should().Be("{\"name\":\"team/first\",\"tags\":[\"v1\"]}");
        (await mirror.Client.GetStringAsync("/v1/search?q=first")).Should().Be(
            "{\"num_pages\": 1, \"num_results\": 1, \"page\": 1, \"page_size\": 25, \"query\": \"first\", \"results\": [{\"description\": \"\", " +
            "\"is_automated\": false, \"is_official\": false, \"is_trusted\": false, \"name\": \"team/first\", \"star_count\": 0}]}");
    }

    [Test]
    public async Task TheUpstreams_404_is_the_normal_unknown_answer()
    {
        await using var mirror = Mirror();
        using var manifest = await mirror.Client.GetAsync("/v2/team/nothing/manifests/v1");
        ((int)manifest.StatusCode).Should().Be(404);
        (await manifest.Content.ReadAsStringAsync()).Should().Be(
            "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\",\"detail\":\"unknown tag=v1\"}]}");

        var digest = Digest.Compute("sha256", "absent"u8);
        using var blob = await mirror.Client.GetAsync($"/v2/team/nothing/blobs/{digest}");
        ((int)blob.StatusCode).Should().Be(404);
        (await blob.Content.ReadAsStringAsync()).Should().Be(
            $"{{\"errors\":[{{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\",\"detail\":\"{digest}\"}}]}}");
        using var head = await mirror.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/team/nothing/blobs/{digest}"));
        ((int)head.StatusCode).Should().Be(404);
        (await mirror.Client.GetStringAsync("/v2/_catalog")).Should().Be("{\"repositories\":[]}");
    }

    [Test]
    public async Task A_tag_movedUpstream_is_served_old_before_the_ttl_and_new_after_it()
    {
        var first = await GoRegistry.PushImageAsync(UpstreamClient, "team/moving", "latest", V1Client.RandomBytes(1000));
        await using var mirror = Mirror(ttl: "2s");
        (await DigestOfAsync(mirror.Client, "team/moving", "latest")).Should().Be(first.Manifest.Digest.ToString());

        var second = await GoRegistry.PushImageAsync(UpstreamClient, "team/moving", "latest", V1Client.RandomBytes(1000));
        (await DigestOfAsync(mirror.Client, "team/moving", "latest")).Should().Be(first.Manifest.Digest.ToString());
        Upstream.Count("HEAD", "/v2/team/moving/manifests/latest").Should().Be(0);

        await Task.Delay(TimeSpan.FromSeconds(3.1));
        (await DigestOfAsync(mirror.Client, "team/moving", "latest")).Should().Be(second.Manifest.Digest.ToString());
        Upstream.Count("HEAD", "/v2/team/moving/manifests/latest").Should().Be(1);
        // Both revisions stay addressable by digest.
        using var old = await mirror.Client.GetAsync($"/v2/team/moving/manifests/{first.Manifest.Digest}");
        ((int)old.StatusCode).Should().Be(200);

        // Unchanged upstream after the ttl: a HEAD, no GET, and the same digest.
        await Task.Delay(TimeSpan.FromSeconds(3.1));
        var gets = Upstream.Count("GET", "/v2/team/moving/manifests/latest") + Upstream.Count("GET", $"/v2/team/moving/manifests/{second.Manifest.Digest}");
        (await DigestOfAsync(mirror.Client, "team/moving", "latest")).Should().Be(second.Manifest.Digest.ToString());
        Upstream.Count("HEAD", "/v2/team/moving/manifests/latest").Should().Be(2);
        (Upstream.Count("GET", "/v2/team/moving/manifests/latest") + Upstream.Count("GET", $"/v2/team/moving/manifests/{second.Manifest.Digest}")).Should().Be(gets);
    }

    [Test]
    public async Task Sixteen_concurrent_gets_of_one_uncached_tag_cause_oneUpstream_get()
    {
        var image = await GoRegistry.PushImageAsync(UpstreamClient, "team/burst", "v1", V1Client.RandomBytes(2000));
        await using var mirror = Mirror();

        var gets = Enumerable.Range(0, 16).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/team/burst/manifests/v1");
            request.Headers.Accept.ParseAdd(ManifestDocument.DockerV2);
            using var response = await mirror.Client.SendAsync(request);
            ((int)response.StatusCode).Should().Be(200, await response.Content.ReadAsStringAsync());
            response.Header("Docker-Content-Digest").Should().Be(image.Manifest.Digest.ToString());
            return await response.Content.ReadAsByteArrayAsync();
        }).ToList();
        foreach (var body in await Task.WhenAll(gets)) body.Should().Equal(image.Manifest.Bytes);

        // The Go registry writes its access log after answering: wait (bounded) for the first line, then a little for
        // any further one before counting.
        for (var wait = 0; wait < 100 && Upstream.Count("GET", "/v2/team/burst/manifests/v1") == 0; wait++) await Task.Delay(50);
        await Task.Delay(300);
        Upstream.Count("GET", "/v2/team/burst/manifests/v1").Should().Be(1);
        Upstream.Requests.Should().ContainSingle(r => r.Path.StartsWith("/v2/team/burst/manifests/", StringComparison.Ordinal) && r.Method == "GET");
    }

    [Test]
    public async Task Range_on_a_miss_is_served_from_the_one_fetch_of_the_whole_blob()
    {
        var layer = V1Client.RandomBytes(100_000);
        var (_, _, layers) = await GoRegistry.PushImageAsync(UpstreamClient, "team/ranged", "v1", layer);
        await using var mirror = Mirror();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/team/ranged/blobs/{layers[0].Digest}");
        request.Headers.Range = new RangeHeaderValue(1000, 1999);
        using var ranged = await mirror.Client.SendAsync(request);
        ((int)ranged.StatusCode).Should().Be(206);
        ranged.Content.Headers.ContentRange!.ToString().Should().Be("bytes 1000-1999/100000");
        ranged.Content.Headers.ContentLength.Should().Be(1000);
        ranged.Header("Docker-Content-Digest").Should().Be(layers[0].Digest.ToString());
        ranged.Header("Accept-Ranges").Should().Be("bytes");
        (await ranged.Content.ReadAsByteArrayAsync()).Should().Equal(layer[1000..2000]);

        // The fetch went on past the range: the whole blob is stored, verified, and the upstream was asked once.
        for (var wait = 0; wait < 100 && !await mirror.Storage.ExistsAsync(DistributionPaths.LayerLink("team/ranged", layers[0].Digest), CancellationToken.None); wait++)
            await Task.Delay(50);
        using var whole = await mirror.Client.GetAsync($"/v2/team/ranged/blobs/{layers[0].Digest}");
        (await whole.Content.ReadAsByteArrayAsync()).Should().Equal(layer);
        Upstream.Count("GET", $"/v2/team/ranged/blobs/{layers[0].Digest}").Should().Be(1);
    }

    [Test]
    public async Task A_resume_during_a_full_pull_of_a_miss_joins_its_fetch()
    {
        var layer = V1Client.RandomBytes(8 * 1024 * 1024);
        var (_, _, layers) = await GoRegistry.PushImageAsync(UpstreamClient, "team/resumed", "v1", layer);
        await using var mirror = Mirror();
        var path = $"/v2/team/resumed/blobs/{layers[0].Digest}";

        using var full = await mirror.Client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        ((int)full.StatusCode).Should().Be(200);
        full.Header("Accept-Ranges").Should().Be("bytes");
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Range", $"bytes={layer.Length / 2}-");
        var resume = mirror.Client.SendAsync(request);
        (await full.Content.ReadAsByteArrayAsync()).Should().Equal(layer);
        using (var response = await resume)
        {
            ((int)response.StatusCode).Should().Be(206);
            response.Content.Headers.ContentRange!.ToString().Should().Be($"bytes {layer.Length / 2}-{layer.Length - 1}/{layer.Length}");
            (await response.Content.ReadAsByteArrayAsync()).Should().Equal(layer[(layer.Length / 2)..]);
        }
        for (var wait = 0; wait < 100 && Upstream.Count("GET", path) == 0; wait++) await Task.Delay(50);
        Upstream.Count("GET", path).Should().Be(1);
    }

    [Test]
    public async Task A_range_past_the_end_of_a_miss_is_416_with_the_size_and_the_blob_is_still_cached()
    {
        var layer = V1Client.RandomBytes(70_000);
        var (_, _, layers) = await GoRegistry.PushImageAsync(UpstreamClient, "team/pastend", "v1", layer);
        await using var mirror = Mirror();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/team/pastend/blobs/{layers[0].Digest}");
        request.Headers.TryAddWithoutValidation("Range", $"bytes={layer.Length}-");
        using var response = await mirror.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(416);
        response.Content.Headers.ContentRange!.ToString().Should().Be($"bytes */{layer.Length}");
        (await response.Content.ReadAsStringAsync()).Should().Be(V2Blobs.Envelope("RANGE_INVALID", "invalid content range"));

        for (var wait = 0; wait < 100 && !await mirror.Storage.ExistsAsync(DistributionPaths.LayerLink("team/pastend", layers[0].Digest), CancellationToken.None); wait++)
            await Task.Delay(50);
        using var whole = await mirror.Client.GetAsync($"/v2/team/pastend/blobs/{layers[0].Digest}");
        (await whole.Content.ReadAsByteArrayAsync()).Should().Equal(layer);
        Upstream.Count("GET", $"/v2/team/pastend/blobs/{layers[0].Digest}").Should().Be(1);
    }

    [Test]
    public async Task A_pushed_repository_is_local_and_never_filled_from_theUpstream()
    {
        // The same name upstream, with another image: the local push wins, also by digest and for blobs.
        var upstreamImage = await GoRegistry.PushImageAsync(UpstreamClient, "team/pushed", "v1", V1Client.RandomBytes(500));
        await using var mirror = Mirror(ttl: "0");
        var local = await V2Seed.PushImageAsync(mirror, "team/pushed", "v1");

        using var byTag = await mirror.Client.GetAsync("/v2/team/pushed/manifests/v1");
        ((int)byTag.StatusCode).Should().Be(200);
        (await byTag.Content.ReadAsByteArrayAsync()).Should().Equal(local.Bytes);
        using var upstreamDigest = await mirror.Client.GetAsync($"/v2/team/pushed/manifests/{upstreamImage.Manifest.Digest}");
        ((int)upstreamDigest.StatusCode).Should().Be(404);
        using var upstreamBlob = await mirror.Client.GetAsync($"/v2/team/pushed/blobs/{upstreamImage.Layers[0].Digest}");
        ((int)upstreamBlob.StatusCode).Should().Be(404);
        Upstream.Requests.Should().NotContain(r => r.Path.StartsWith("/v2/team/pushed/", StringComparison.Ordinal) && r.Method != "PUT" && r.Method != "POST" && r.Method != "HEAD");
        Upstream.Count("HEAD", "/v2/team/pushed/manifests/v1").Should().Be(0);
    }

    [Test]
    public async Task A_push_to_a_cached_repository_makes_it_local()
    {
        var upstreamImage = await GoRegistry.PushImageAsync(UpstreamClient, "team/taken", "v1", V1Client.RandomBytes(500));
        await using var mirror = Mirror(ttl: "0");
        (await DigestOfAsync(mirror.Client, "team/taken", "v1")).Should().Be(upstreamImage.Manifest.Digest.ToString());

        var local = await V2Seed.PushImageAsync(mirror, "team/taken", "v1");
        var heads = Upstream.Count("HEAD", "/v2/team/taken/manifests/v1");
        (await DigestOfAsync(mirror.Client, "team/taken", "v1")).Should().Be(local.Digest.ToString());
        Upstream.Count("HEAD", "/v2/team/taken/manifests/v1").Should().Be(heads);
    }

    [Test]
    public async Task A_prefix_of_theUpstreams_list_is_stripped_and_names_outside_it_stay_local()
    {
        var image = await GoRegistry.PushImageAsync(UpstreamClient, "team/prefixed", "v1", V1Client.RandomBytes(700));
        var root = Directory.CreateTempSubdirectory("registry-prefix-").FullName;
        var config = Path.Combine(root, "config.yml");
        await File.WriteAllTextAsync(config, $$"""
            dev:
                storage: local
                storage_path: _env:STORAGE_PATH
                standalone: true
                search_backend: sqlalchemy
                sqlalchemy_index_database: _env:SQLALCHEMY_INDEX_DATABASE
                proxy:
                    upstreams:
                        - {prefix: go, remoteurl: '{{Upstream.Url}}', ttl: 1h}
            """);
        // The registry's folder holds the config too and is deleted with it.
        await using var mirror = TestRegistry.Start(new Dictionary<string, string> { ["DOCKER_REGISTRY_CONFIG"] = config }, root);

        using var manifest = await mirror.Client.GetAsync("/v2/go/team/prefixed/manifests/v1");
        ((int)manifest.StatusCode).Should().Be(200, await manifest.Content.ReadAsStringAsync());
        (await manifest.Content.ReadAsByteArrayAsync()).Should().Equal(image.Manifest.Bytes);
        using var blob = await mirror.Client.GetAsync($"/v2/go/team/prefixed/blobs/{image.Layers[0].Digest}");
        (await blob.Content.ReadAsByteArrayAsync()).Should().Equal(image.Layers[0].Content);
        Upstream.Count("GET", "/v2/team/prefixed/manifests/v1").Should().Be(1);

        var before = Upstream.Requests.Count;
        using var outside = await mirror.Client.GetAsync("/v2/team/prefixed/manifests/v1");
        ((int)outside.StatusCode).Should().Be(404);
        Upstream.Requests.Count.Should().Be(before);
        (await mirror.Client.GetStringAsync("/v2/_catalog")).Should().Be("{\"repositories\":[\"go/team/prefixed\"]}");
    }

    private static async Task<string> DigestOfAsync(HttpClient client, string name, string tag)
    {
        using var response = await client.GetAsync($"/v2/{name}/manifests/{tag}");
        ((int)response.StatusCode).Should().Be(200, await response.Content.ReadAsStringAsync());
        var digest = response.Header("Docker-Content-Digest")!;
        Digest.Compute("sha256", await response.Content.ReadAsByteArrayAsync()).ToString().Should().Be(digest);
        return digest;
    }

    internal static string ErrorCode(string body) =>
        JsonDocument.Parse(body).RootElement.GetProperty("errors")[0].GetProperty("code").GetString()!;
}
