using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Tests.Maintenance;
using Registry.Tests.Support;
using Registry.Tests.V2;
using Registry.V1.Hosting;

namespace Registry.Tests.Cluster;

/// <summary>
/// Two registry processes (<see cref="RegistryCluster"/>) on one storage folder and one PostgreSQL index database, as
/// behind a load balancer: writes
/// of the same image or tag on both serialize, a collection on one protects the pushes in flight on the other, the
/// locks of a killed instance are released, failed logins count on both, and PostgreSQL down is a 503 before
/// anything is written.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ClusterCoordinationTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Test]
    public async Task A_collection_on_one_instance_protects_the_pushes_in_flight_on_the_other()
    {
        await using var cluster = await StartTwoAsync(new() { ["REGISTRY_GC_GRACE_SECONDS"] = "0", ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true" });
        var (a, b) = (cluster[0], cluster[1]);

        await GcConcurrencyTests.PushWhileCollectingAsync(b.Client, [a.Client, b.Client], async () =>
        {
            using var response = await a.Client.PostAsync("/v1/_gc?dry_run=false&delete_untagged=false", null);
            var body = await response.Content.ReadAsStringAsync();
            // Another run holding the storage lease is a 409-style refusal, not a failure of the scenario.
            if (response.StatusCode != HttpStatusCode.OK) return 0;
            using var report = JsonDocument.Parse(body);
            return report.RootElement.GetProperty("total_bytes").GetInt64();
        }, maxPause: TimeSpan.FromMilliseconds(300));

        (a.Output + b.Output).Should().NotContain("Unhandled error");
    }

    /// <summary>docs/garbage-collection.md, 'Guarantees' G8 across instances: the renewal takes the cluster's shared side.</summary>
    [Test]
    public async Task A_layer_that_HEAD_found_on_one_instance_survives_a_collection_on_the_other_before_the_manifest_arrives()
    {
        await using var cluster = await StartTwoAsync(new() { ["REGISTRY_GC_GRACE_SECONDS"] = "600" });
        var (a, b) = (cluster[0], cluster[1]);
        var found = await V2Blobs.PushAsync(a.Client, "lib/app", RandomNumberGenerator.GetBytes(3000));
        var missed = await V2Blobs.PushAsync(a.Client, "lib/app", RandomNumberGenerator.GetBytes(2000));
        foreach (var digest in new[] { found, missed }.Select(d => Digest.ParseOrNull(d)!))
        {
            GcTestKit.Backdate(cluster.StorageFolder!, DistributionPaths.LayerLink("lib/app", digest), TimeSpan.FromHours(2));
            GcTestKit.Backdate(cluster.StorageFolder!, DistributionPaths.BlobDir(digest), TimeSpan.FromHours(2));
        }

        using (var head = await b.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/lib/app/blobs/{found}")))
            ((int)head.StatusCode).Should().Be(200);
        using var gc = await a.Client.PostAsync("/v1/_gc?dry_run=false&delete_untagged=false", null);
        var body = await gc.Content.ReadAsStringAsync();
        ((int)gc.StatusCode).Should().Be(200, body);

        using (var report = JsonDocument.Parse(body))
            report.RootElement.GetProperty("items").EnumerateArray().Select(i => (i.GetProperty("kind").GetString(), i.GetProperty("id").GetString()))
                .Should().BeEquivalentTo(new[] { ("blob", missed), ("layer_link", missed) });
        var config = await V2Blobs.PushAsync(a.Client, "lib/app", Encoding.UTF8.GetBytes("{\"app\":1}"));
        var manifest = Encoding.UTF8.GetBytes(V2Seeder.ManifestJson(ManifestDocument.OciManifest, Digest.ParseOrNull(config), [Digest.ParseOrNull(found)!], null));
        using var put = await a.Client.PutManifestAsync("lib/app", "latest", manifest, "application/vnd.oci.image.manifest.v1+json");
        ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task The_same_v1_image_pushed_to_both_instances_at_once_ends_with_one_intact_winner()
    {
        await using var cluster = await StartTwoAsync();
        var (a, b) = (cluster[0], cluster[1]);
        for (var round = 0; round < 8; round++)
        {
            var id = V1Client.NewImageId();
            var json = V1Client.ImageJson(id);
            var layers = new[] { V1Client.RandomBytes(200_000), V1Client.RandomBytes(200_000) };
            var pushes = new[] { a, b }.Select((r, i) => Task.Run(() => PushOnceAsync(r.Client, id, json, layers[i]))).ToArray();
            var accepted = await Task.WhenAll(pushes);
            accepted.Should().Contain(true, "one of the two pushes wins");

            foreach (var reader in new[] { a.Client, b.Client })
            {
                using var layer = await reader.GetAsync($"/v1/images/{id}/layer");
                ((int)layer.StatusCode).Should().Be(200);
                var bytes = await layer.Content.ReadAsByteArrayAsync();
                var winner = Array.FindIndex(layers, l => l.AsSpan().SequenceEqual(bytes));
                winner.Should().BeGreaterThanOrEqualTo(0, "the layer is one push's bytes, not a mix");
                accepted[winner].Should().BeTrue("the stored layer is the one whose checksum was accepted");
                using var meta = await reader.GetAsync($"/v1/images/{id}/json");
                meta.Header("X-Docker-Checksum-Payload").Should().Be(V1Client.PayloadChecksum(json, bytes));
            }
        }
    }

    [Test]
    public async Task The_same_v2_tag_pushed_to_both_instances_at_once_ends_consistent()
    {
        await using var cluster = await StartTwoAsync();
        var (a, b) = (cluster[0], cluster[1]);
        for (var round = 0; round < 8; round++)
        {
            var repository = $"race/app{round}";
            var pushes = new[] { a, b }.Select((_, i) => V2Image(repository, "latest", i)).ToArray();
            var results = await Task.WhenAll(new[] { a, b }.Select((r, i) => Task.Run(() => GcConcurrencyTests.TryPushV2Async(r.Client, pushes[i]))));
            results.Should().OnlyContain(refused => refused == null, "both pushes are valid; the later one wins the tag");

            foreach (var reader in new[] { a.Client, b.Client })
            {
                var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repository}/manifests/latest");
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(ManifestDocument.OciManifest));
                using var response = await reader.SendAsync(request);
                ((int)response.StatusCode).Should().Be(200);
                var bytes = await response.Content.ReadAsByteArrayAsync();
                var winner = pushes.Single(p => p.ManifestBytes.AsSpan().SequenceEqual(bytes));
                response.Header("Docker-Content-Digest").Should().Be(winner.Manifest.ToString());
                foreach (var (digest, content) in winner.Blobs)
                    (await reader.GetByteArrayAsync($"/v2/{repository}/blobs/{digest}")).Should().Equal(content);
                (await reader.GetAsync($"/v2/{repository}/tags/list").ReadAsync()).Body.Should().Be($"{{\"name\":\"{repository}\",\"tags\":[\"latest\"]}}");
            }
        }
    }

    [Test]
    public async Task The_keyed_lock_of_a_killed_instance_is_released_and_the_other_instance_proceeds()
    {
        await using var cluster = await StartTwoAsync();
        var (a, b) = (cluster[0], cluster[1]);
        var id = V1Client.NewImageId();
        var json = V1Client.ImageJson(id);
        (await a.Client.PutJsonAsync(id, json).ReadAsync()).Status.Should().Be(200);

        // A receives a layer that never ends: it holds the image's lock while it streams.
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[8 * 1024]); // below the pipe's pause threshold: nothing reads it yet
        var content = new StreamContent(pipe.Reader.AsStream());
        content.Headers.ContentLength = 1_000_000;
        var stalled = a.Client.PutAsync($"/v1/images/{id}/layer", content);
        await Task.Delay(500);

        var layer = V1Client.RandomBytes(5000);
        var waiting = b.Client.PutLayerAsync(id, layer);
        (await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromSeconds(2)))).Should().NotBe(waiting, "A holds the image's lock");

        await a.KillAsync();

        using (var answer = await waiting.WaitAsync(Long)) ((int)answer.StatusCode).Should().Be(200);
        (await b.Client.PutChecksumAsync(id, V1Client.PayloadChecksum(json, layer)).ReadAsync()).Status.Should().Be(200);
        (await b.Client.GetByteArrayAsync($"/v1/images/{id}/layer")).Should().Equal(layer);
        await FluentActions.Awaiting(() => stalled).Should().ThrowAsync<Exception>("the instance that took it was killed");
        await pipe.Writer.CompleteAsync();
    }

    [Test]
    public async Task Failed_logins_on_one_instance_count_on_the_other()
    {
        using var config = new TempDirectory();
        await File.WriteAllTextAsync(config.File("htpasswd"), "");
        await using var cluster = await StartTwoAsync(new()
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = config.File("htpasswd"),
            ["REGISTRY_AUTH_MAX_FAILED_LOGINS"] = "3",
        });
        var (a, b) = (cluster[0], cluster[1]);
        var wrong = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("mallory:guess")));
        foreach (var registry in new[] { a, b, a })
            (await SendAsync(registry, wrong)).Should().Be((401, "{\"error\": \"Wrong login/password\"}"));

        var throttled = await SendAsync(b, wrong);
        throttled.Status.Should().Be(429, "three failures on A and B together reach the limit");
        (await SendAsync(a, wrong)).Status.Should().Be(429);
    }

    [Test]
    public async Task While_postgresql_is_down_a_push_is_a_503_in_each_protocols_error_body_and_writes_nothing()
    {
        await using var server = await PostgresServer.StartDedicatedAsync();
        await using var cluster = await RegistryCluster.StartAsync(1, server, storage: ClusterStorage.Folder);
        var (registry, storage) = (cluster[0], cluster.StorageFolder!);
        var id = V1Client.NewImageId();
        var blob = V1Client.RandomBytes(3000);
        var digest = Digest.Compute("sha256", blob);

        await server.StopAsync();

        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var put = await registry.Client.PutJsonAsync(id, V1Client.ImageJson(id));
            await ShouldBeUnavailableAsync(put, v2: false);
            using var upload = await registry.Client.PostAsync($"/v2/down/app/blobs/uploads/?digest={digest}", new ByteArrayContent(blob));
            await ShouldBeUnavailableAsync(upload, v2: true);
        }
        Directory.Exists(Path.Combine(storage, "images", id)).Should().BeFalse("the image json was not written");
        Directory.EnumerateFiles(storage, "*", SearchOption.AllDirectories)
            .Where(f => f.Contains(digest.Hex, StringComparison.Ordinal) || f.Contains(id, StringComparison.Ordinal))
            .Should().BeEmpty("nothing of either push reached storage");
        registry.Output.Should().NotContain("Unhandled error");

        await server.RestartAsync();
        var recovered = await RetryWhileUnavailableAsync(() => registry.Client.PutJsonAsync(id, V1Client.ImageJson(id)));
        recovered.Should().Be(200);
    }

    private static async Task ShouldBeUnavailableAsync(HttpResponseMessage response, bool v2)
    {
        var body = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).Should().Be(503, body);
        response.Header("Retry-After").Should().Be("5");
        using var json = JsonDocument.Parse(body);
        if (v2) json.RootElement.GetProperty("errors")[0].GetProperty("code").GetString().Should().Be("UNAVAILABLE");
        else json.RootElement.GetProperty("error").GetString().Should().Be(ErrorHandlingMiddleware.IndexUnavailableMessage);
    }

    private static async Task<int> RetryWhileUnavailableAsync(Func<Task<HttpResponseMessage>> send)
    {
        var deadline = DateTime.UtcNow + Long;
        while (true)
        {
            using var response = await send();
            if ((int)response.StatusCode != 503 || DateTime.UtcNow > deadline) return (int)response.StatusCode;
            await Task.Delay(200);
        }
    }

    private static async Task<bool> PushOnceAsync(HttpClient client, string id, string json, byte[] layer)
    {
        if ((await client.PutJsonAsync(id, json).ReadAsync()).Status != 200) return false;
        if ((await client.PutLayerAsync(id, layer).ReadAsync()).Status != 200) return false;
        return (await client.PutChecksumAsync(id, V1Client.PayloadChecksum(json, layer)).ReadAsync()).Status == 200;
    }

    private static GcConcurrencyTests.V2Push V2Image(string repository, string tag, int variant)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"variant\":{variant}}}");
        var layer = RandomNumberGenerator.GetBytes(4000);
        var blobs = new List<(Digest, byte[])> { (Digest.Compute("sha256", config), config), (Digest.Compute("sha256", layer), layer) };
        var manifest = Encoding.UTF8.GetBytes(V2Seeder.ManifestJson(ManifestDocument.OciManifest, blobs[0].Item1, [blobs[1].Item1], null));
        return new GcConcurrencyTests.V2Push(repository, tag, Digest.Compute("sha256", manifest), manifest, blobs);
    }

    private static async Task<(int Status, string Body)> SendAsync(RegistryProcess registry, AuthenticationHeaderValue authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/users");
        request.Headers.Authorization = authorization;
        using var response = await registry.Client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static Task<RegistryCluster> StartTwoAsync(Dictionary<string, string?>? environment = null) =>
        RegistryCluster.StartAsync(2, environment: environment, storage: ClusterStorage.Folder);
}
