using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Notifications;

/// <summary>
/// Notifications end to end (docs/operating.md, 'Notifications'): a real registry process POSTs to a receiver on
/// 127.0.0.1; bodies are compared with the envelope distribution 2.8 sends for the same requests (same fields, same
/// order, same three-space indentation), except for the media type of the envelope, which is distribution 3's.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class NotificationTests
{
    private const string UserAgent = "notify-test/1.0";
    private static readonly string HostName = Dns.GetHostName();

    // As the registry writes JSON: '+' in media types stays '+'.
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [Test]
    public async Task A_v2_push_sends_distributions_envelope_field_by_field()
    {
        await using var receiver = new EventReceiver();
        receiver.Start();
        var root = Directory.CreateTempSubdirectory("registry-notify-").FullName;
        var htpasswd = Path.Combine(root, "htpasswd");
        await File.WriteAllTextAsync(htpasswd, HtpasswdFile.Line("alice", "secret") + "\n");
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_NOTIFICATIONS_ENDPOINTS"] = $"[{{name: hook, url: '{receiver.Url}', headers: {{X-Token: [abc]}}}}]",
        });
        var client = Client(registry);
        client.DefaultRequestHeaders.Authorization = TestRegistry.Basic("alice", "secret");

        var layer = await PushBlobMonolithicAsync(client, "alice/app", V1Client.RandomBytes(300));
        var config = await PushBlobInTwoStepsAsync(client, "alice/app", Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\"}"));
        var manifest = V2Seed.DockerManifest(config, layer);
        using (var put = new HttpRequestMessage(HttpMethod.Put, "/v2/alice/app/manifests/v1") { Content = new ByteArrayContent(manifest.Bytes) })
        {
            put.Content.Headers.ContentType = new MediaTypeHeaderValue(manifest.MediaType);
            put.Headers.Add("X-Request-Id", "push-42");
            (await client.SendAsync(put)).StatusCode.Should().Be(HttpStatusCode.Created);
        }

        var deliveries = await receiver.WaitForAsync(3);
        deliveries.Should().HaveCount(3);
        foreach (var d in deliveries)
        {
            (d.Method, d.Path, d.ContentType).Should().Be(("POST", "/events", "application/vnd.docker.distribution.events.v2+json"));
            d.Headers["X-Token"].Should().Equal("abc");
        }
        var push = deliveries[2];
        var e = push.Event;
        var request = e["request"]!.AsObject();
        ((string)e["id"]!).Should().MatchRegex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
        ((string)e["timestamp"]!).Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$");
        DateTimeOffset.Parse((string)e["timestamp"]!).Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        ((string)request["addr"]!).Should().MatchRegex(@"^127\.0\.0\.1:\d+$");
        var instance = (string)e["source"]!["instanceID"]!;
        Guid.TryParse(instance, out _).Should().BeTrue();
        push.Body.Should().Be($$"""
            {
               "events": [
                  {
                     "id": "{{e["id"]}}",
                     "timestamp": "{{e["timestamp"]}}",
                     "action": "push",
                     "target": {
                        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                        "size": {{manifest.Bytes.Length}},
                        "digest": "{{manifest.Digest}}",
                        "length": {{manifest.Bytes.Length}},
                        "repository": "alice/app",
                        "url": "http://{{registry.HostAndPort}}/v2/alice/app/manifests/{{manifest.Digest}}",
                        "tag": "v1"
                     },
                     "request": {
                        "id": "push-42",
                        "addr": "{{request["addr"]}}",
                        "host": "{{registry.HostAndPort}}",
                        "method": "PUT",
                        "useragent": "{{UserAgent}}"
                     },
                     "actor": {
                        "name": "alice"
                     },
                     "source": {
                        "addr": "{{HostName}}:{{registry.Port}}",
                        "instanceID": "{{instance}}"
                     }
                  }
               ]
            }
            """);

        // The blobs: pushed once committed, by the request that committed them (POST ?digest= or the closing PUT).
        Summary(deliveries[0]).Should().Be($"push application/octet-stream {layer.Digest} 300/300 alice/app url=http://{registry.HostAndPort}/v2/alice/app/blobs/{layer.Digest} POST alice");
        Summary(deliveries[1]).Should().Be($"push application/octet-stream {config.Digest} {config.Content.Length}/{config.Content.Length} alice/app url=http://{registry.HostAndPort}/v2/alice/app/blobs/{config.Digest} PUT alice");
        deliveries.Select(d => (string)d.Event["request"]!["id"]!).Should().OnlyHaveUniqueItems("each event came from its own request");
        Directory.Delete(root, recursive: true);
    }

    [Test]
    public async Task Pulls_are_gets_not_heads_and_ignore_actions_filters_them()
    {
        await using var receiver = new EventReceiver();
        receiver.Start();
        var endpoints = $"[{{name: all, url: '{receiver.Url}?all'}}, {{name: nopull, url: '{receiver.Url.Replace("/events", "/nopull")}', ignore: {{actions: [pull]}}}}]";
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_NOTIFICATIONS_ENDPOINTS"] = endpoints,
            ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true",
        });
        var client = Client(registry);
        var layer = await PushBlobMonolithicAsync(client, "app", V1Client.RandomBytes(100));
        var config = await PushBlobMonolithicAsync(client, "app", Encoding.UTF8.GetBytes("{\"os\":\"linux\"}"));
        var manifest = V2Seed.DockerManifest(config, layer);
        await client.PushManifestAsync("app", "v1", manifest);
        var accept = ("Accept", manifest.MediaType);
        (await client.SendAsync(HttpMethod.Head, "/v2/app/manifests/v1", accept)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.SendAsync(HttpMethod.Get, "/v2/app/manifests/v1", accept)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.SendAsync(HttpMethod.Get, $"/v2/app/manifests/{manifest.Digest}", accept)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.SendAsync(HttpMethod.Head, $"/v2/app/blobs/{layer.Digest}")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.SendAsync(HttpMethod.Get, $"/v2/app/blobs/{layer.Digest}")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.PostAsync($"/v2/copy/blobs/uploads/?mount={layer.Digest}&from=app", null)).StatusCode.Should().Be(HttpStatusCode.Created);
        (await client.DeleteAsync($"/v2/app/manifests/{manifest.Digest}")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await client.DeleteAsync($"/v2/copy/blobs/{layer.Digest}")).StatusCode.Should().Be(HttpStatusCode.Accepted);

        // Ten events for the endpoint that takes all, seven for the one that ignores pulls.
        await receiver.WaitForAsync(17);
        var url = $"http://{registry.HostAndPort}/v2";
        string[] pushes =
        [
            $"push application/octet-stream {layer.Digest} 100/100 app url={url}/app/blobs/{layer.Digest} POST -",
            $"push application/octet-stream {config.Digest} {config.Content.Length}/{config.Content.Length} app url={url}/app/blobs/{config.Digest} POST -",
            $"push {manifest.MediaType} {manifest.Digest} {manifest.Bytes.Length}/{manifest.Bytes.Length} app url={url}/app/manifests/{manifest.Digest} tag=v1 PUT -",
        ];
        string[] pulls =
        [
            $"pull {manifest.MediaType} {manifest.Digest} {manifest.Bytes.Length}/{manifest.Bytes.Length} app url={url}/app/manifests/{manifest.Digest} tag=v1 GET -",
            $"pull {manifest.MediaType} {manifest.Digest} {manifest.Bytes.Length}/{manifest.Bytes.Length} app url={url}/app/manifests/{manifest.Digest} GET -",
            $"pull application/octet-stream {layer.Digest} 100/100 app url={url}/app/blobs/{layer.Digest} GET -",
        ];
        string[] rest =
        [
            $"mount application/octet-stream {layer.Digest} 100/100 copy from=app url={url}/copy/blobs/{layer.Digest} POST -",
            $"delete {manifest.Digest} app DELETE -",
            "delete - app tag=v1 DELETE -",
            $"delete {layer.Digest} copy DELETE -",
        ];
        receiver.Accepted.Where(d => d.Path == "/events").Select(Summary).Should().Equal([.. pushes, .. pulls, .. rest]);
        receiver.Accepted.Where(d => d.Path == "/nopull").Select(Summary).Should().Equal([.. pushes, .. rest]);
        var mount = receiver.Accepted.First(d => (string)d.Event["action"]! == "mount").Event;
        mount["target"]!.ToJsonString(Relaxed).Should().Be(
            $"{{\"mediaType\":\"application/octet-stream\",\"size\":100,\"digest\":\"{layer.Digest}\",\"length\":100,\"repository\":\"copy\",\"fromRepository\":\"app\",\"url\":\"{url}/copy/blobs/{layer.Digest}\"}}");
        mount["actor"]!.ToJsonString(Relaxed).Should().Be("{}", "an anonymous request has no actor name");
    }

    [Test]
    public async Task A_v1_push_sends_image_and_tag_events_and_deletes()
    {
        await using var receiver = new EventReceiver();
        receiver.Start();
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_NOTIFICATIONS_ENDPOINTS"] = $"[{{name: hook, url: '{receiver.Url}'}}]",
        });
        var client = Client(registry);
        var id = V1Client.NewImageId();
        var layer = V1Client.RandomBytes(2048);
        await client.PushImageAsync(id, layer);
        (await client.PutTagAsync("ns/app", "latest", id)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.DeleteAsync("/v1/repositories/ns/app/tags/latest")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.PutTagAsync("ns/app", "stable", id)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.DeleteAsync("/v1/repositories/ns/app/")).StatusCode.Should().Be(HttpStatusCode.OK);

        var deliveries = await receiver.WaitForAsync(5);
        var image = $"http://{registry.HostAndPort}/v1/images/{id}/json";
        deliveries.Select(Summary).Should().Equal(
            $"push application/vnd.docker.container.image.v1+json - 2048/2048 - url={image} PUT -",
            $"push application/vnd.docker.container.image.v1+json - 0/0 ns/app url={image} tag=latest PUT -",
            "delete - ns/app tag=latest DELETE -",
            $"push application/vnd.docker.container.image.v1+json - 0/0 ns/app url={image} tag=stable PUT -",
            "delete - ns/app DELETE -");
        var tagged = deliveries[1].Event;
        tagged["target"]!.ToJsonString(Relaxed).Should().Be(
            $"{{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"repository\":\"ns/app\",\"url\":\"{image}\",\"tag\":\"latest\"}}");
        tagged["source"]!["addr"]!.GetValue<string>().Should().Be($"{HostName}:{registry.Port}");
    }

    [Test]
    public async Task A_receiver_that_is_down_then_up_gets_every_event_once_in_order_across_a_restart()
    {
        await using var receiver = new EventReceiver();
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_NOTIFICATIONS_ENDPOINTS"] = $"[{{name: hook, url: '{receiver.Url}', threshold: 2, backoff: 200ms, timeout: 1s}}]",
        });
        var client = Client(registry);
        var layer = await PushBlobMonolithicAsync(client, "app", V1Client.RandomBytes(64));
        var config = await PushBlobMonolithicAsync(client, "app", Encoding.UTF8.GetBytes("{\"os\":\"linux\"}"));
        var manifest = V2Seed.DockerManifest(config, layer);
        for (var i = 1; i <= 4; i++) await client.PushManifestAsync("app", $"t{i}", manifest);
        var queue = Path.Combine(registry.StoragePath, "_notifications", "0", "hook", "events");
        (await File.ReadAllLinesAsync(queue)).Should().HaveCount(6, "nothing was accepted while the receiver is down");
        var down = await PrometheusText.ScrapeAsync(client);
        down.Value("registry_notifications_queue_depth").Should().Be(6);
        down.Value("registry_notifications_failures_total").Should().BeGreaterThan(0, "the closed port refused the first event");

        // A crash: the queue on disk is all that is left of the six events.
        await registry.KillAsync();
        await registry.RestartAsync();
        client = Client(registry);
        await client.PushManifestAsync("app", "t5", manifest);
        await Task.Delay(500);
        receiver.Attempts.Should().BeEmpty();
        (await PrometheusText.ScrapeAsync(client)).Value("registry_notifications_queue_depth").Should().Be(7, "the six queued before the crash and one since");
        receiver.FailNext(3);
        receiver.Start();

        var deliveries = await receiver.WaitForAsync(7);
        await Task.Delay(1000);
        receiver.Accepted.Should().HaveCount(7, "no event is delivered twice");
        receiver.Attempts.Should().HaveCount(10, "the first event was refused three times and retried");
        deliveries.Select(d => $"{d.Event["action"]} {d.Event["target"]!["digest"]} {d.Event["target"]!["tag"]}").Should().Equal(
            $"push {layer.Digest} ",
            $"push {config.Digest} ",
            $"push {manifest.Digest} t1",
            $"push {manifest.Digest} t2",
            $"push {manifest.Digest} t3",
            $"push {manifest.Digest} t4",
            $"push {manifest.Digest} t5");
        deliveries.Select(d => (string)d.Event["id"]!).Should().OnlyHaveUniqueItems();
        deliveries.Select(d => (string)d.Event["source"]!["instanceID"]!).Distinct().Should().HaveCount(2, "the restarted process is a new instance");
        (await File.ReadAllTextAsync(queue)).Should().BeEmpty("a delivered queue is emptied");
        var after = await PrometheusText.ScrapeAsync(client);
        after.Value("registry_notifications_queue_depth").Should().Be(0);
        after.Value("registry_notifications_failures_total").Should().BeGreaterThanOrEqualTo(3, "three answers were 500");
    }

    [Test]
    public async Task A_queue_that_cannot_be_written_never_fails_a_push()
    {
        await using var receiver = new EventReceiver();
        receiver.Start();
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_NOTIFICATIONS_ENDPOINTS"] = $"[{{name: hook, url: '{receiver.Url}', backoff: 100ms}}]",
            ["LOGLEVEL"] = "info",
        });
        var client = Client(registry);
        var first = await PushBlobMonolithicAsync(client, "app", V1Client.RandomBytes(10));
        (await receiver.WaitForAsync(1)).Should().HaveCount(1);
        var queue = Path.Combine(registry.StoragePath, "_notifications", "0", "hook", "events");
        File.Delete(queue);
        Directory.CreateDirectory(queue);

        // Pushed (201) while its event cannot be queued: that event is lost, the push is not.
        await PushBlobMonolithicAsync(client, "app", V1Client.RandomBytes(11));
        (await client.GetAsync("/v2/")).StatusCode.Should().Be(HttpStatusCode.OK, "the delivery worker's trouble does not stop the server");

        Directory.Delete(queue);
        var later = await PushBlobMonolithicAsync(client, "app", V1Client.RandomBytes(12));
        var deliveries = await receiver.WaitForAsync(2);
        deliveries.Select(d => (string)d.Event["target"]!["digest"]!).Should().Equal(first.Digest.ToString(), later.Digest.ToString());
        registry.Output.Should().Contain($"notification push of app for endpoint hook was not queued: Access to the path '{queue}' is denied.");
    }

    private static HttpClient Client(RegistryProcess registry)
    {
        var client = registry.Client;
        client.DefaultRequestHeaders.UserAgent.Clear();
        client.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
        return client;
    }

    /// <summary>One line per event: action, target fields, request method and actor ("-" for none).</summary>
    private static string Summary(ReceivedDelivery delivery)
    {
        var e = delivery.Event;
        var t = e["target"]!.AsObject();
        var parts = new List<string> { (string)e["action"]! };
        if (t["mediaType"] is { } type) parts.Add((string)type!);
        parts.Add(t["digest"] is { } digest ? (string)digest! : "-");
        if (t["mediaType"] is not null) parts.Add($"{(long?)t["size"] ?? 0}/{(long?)t["length"] ?? 0}");
        parts.Add(t["repository"] is { } repository ? (string)repository! : "-");
        if (t["fromRepository"] is { } from) parts.Add($"from={from}");
        if (t["url"] is { } url) parts.Add($"url={url}");
        if (t["tag"] is { } tag) parts.Add($"tag={tag}");
        parts.Add((string)e["request"]!["method"]!);
        parts.Add(e["actor"]!["name"] is { } name ? (string)name! : "-");
        return string.Join(' ', parts);
    }

    private static async Task<SeededBlob> PushBlobMonolithicAsync(HttpClient client, string name, byte[] content)
    {
        var digest = Digest.Compute("sha256", content);
        var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await client.PostAsync($"/v2/{name}/blobs/uploads/?digest={digest}", body);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return new SeededBlob(digest, content, V2Seed.DockerLayerType);
    }

    private static async Task<SeededBlob> PushBlobInTwoStepsAsync(HttpClient client, string name, byte[] content)
    {
        var digest = Digest.Compute("sha256", content);
        using var started = await client.PostAsync($"/v2/{name}/blobs/uploads/", null);
        started.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var done = await client.PutAsync($"{started.Headers.Location}?digest={digest}", body);
        done.StatusCode.Should().Be(HttpStatusCode.Created, await done.Content.ReadAsStringAsync());
        return new SeededBlob(digest, content, V2Seed.DockerConfigType);
    }
}
