using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Notifications;

/// <summary>
/// Repository webhooks end to end (docs/operating.md, 'Repository webhooks'): the owner registers a receiver on
/// 127.0.0.1 (allowed by <c>webhooks.allowed_networks</c>), pushes with V1 and v2, and the receiver gets Docker Hub's
/// payload through the durable queue, once, also when it was down at push time.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class WebhookTests
{
    private static readonly Dictionary<string, string> AllowLoopback = new() { ["WEBHOOKS_ALLOWED_NETWORKS"] = "127.0.0.0/8" };

    [Test]
    public async Task V1_and_v2_pushes_send_the_hub_payload_to_the_owners_webhook()
    {
        await using var receiver = new EventReceiver();
        receiver.Start();
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw", "bob:bob-pw"], AllowLoopback);
        registry.Client.DefaultRequestHeaders.Authorization = TestRegistry.Basic("alice", "alice-pw");
        (await Register(registry, "alice/app", receiver.Url)).Should().Be((HttpStatusCode.Created, $"{{\"id\": 1, \"url\": \"{receiver.Url}\"}}"));

        var id = V1Client.NewImageId();
        await registry.Client.PushImageAsync(id, V1Client.RandomBytes(100));
        (await registry.Client.PutTagAsync("alice/app", "latest", id)).StatusCode.Should().Be(HttpStatusCode.OK);
        var (config, layer) = await V2Seed.ImageBlobsAsync(registry, "alice/app");
        await registry.Client.PushManifestAsync("alice/app", "v2", V2Seed.OciManifest(config, layer));
        await registry.Client.PushManifestAsync("alice/app", V2Seed.OciManifest(config, layer).Digest.ToString(), V2Seed.OciManifest(config, layer));

        var deliveries = await receiver.WaitForAsync(2);
        await Task.Delay(500);
        receiver.Accepted.Should().HaveCount(2, "a push by digest has no tag, so no webhook");
        foreach (var (delivery, tag) in deliveries.Zip(["latest", "v2"]))
        {
            (delivery.Method, delivery.Path, delivery.ContentType).Should().Be(("POST", "/events", "application/json"));
            delivery.Body.Should().Be(ExpectedPayload(delivery.Body, tag, "alice"));
        }
    }

    [Test]
    public async Task A_receiver_that_is_down_at_push_time_gets_the_event_once_when_it_is_up()
    {
        await using var receiver = new EventReceiver();
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw"], AllowLoopback);
        registry.Client.DefaultRequestHeaders.Authorization = TestRegistry.Basic("alice", "alice-pw");
        (await Register(registry, "alice/app", receiver.Url)).Status.Should().Be(HttpStatusCode.Created);

        await V2Seed.PushImageAsync(registry, "alice/app", "v1");
        await Task.Delay(1500);
        receiver.Attempts.Should().BeEmpty();
        receiver.Start();

        var deliveries = await receiver.WaitForAsync(1, TimeSpan.FromSeconds(30));
        await Task.Delay(1000);
        receiver.Attempts.Should().HaveCount(1);
        deliveries.Single().Body.Should().Be(ExpectedPayload(deliveries.Single().Body, "v1", "alice"));
    }

    [Test]
    public async Task Without_the_allow_list_a_loopback_webhook_is_dropped_and_later_ones_still_arrive()
    {
        await using var receiver = new EventReceiver();
        receiver.Start();
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw"]);
        registry.Client.DefaultRequestHeaders.Authorization = TestRegistry.Basic("alice", "alice-pw");
        (await Register(registry, "alice/app", receiver.Url)).Status.Should().Be(HttpStatusCode.Created);

        await V2Seed.PushImageAsync(registry, "alice/app", "v1");
        await V2Seed.PushImageAsync(registry, "alice/app", "v2");
        var queue = registry.Services.GetService(typeof(Registry.Core.Notifications.Webhooks.WebhookQueue)) as Registry.Core.Notifications.Webhooks.WebhookQueue;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (queue!.Queue!.PendingEvents > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);

        queue.Queue!.PendingEvents.Should().Be(0, "refused deliveries are dropped, not retried");
        receiver.Attempts.Should().BeEmpty();
    }

    [Test]
    public async Task A_non_owner_cannot_register_and_ftp_is_400()
    {
        await using var registry = TestRegistry.StartWithHtpasswd(["alice:alice-pw", "bob:bob-pw"], AllowLoopback);
        registry.Client.DefaultRequestHeaders.Authorization = TestRegistry.Basic("bob", "bob-pw");
        (await Register(registry, "alice/app", "http://127.0.0.1:1/")).Should().Be((HttpStatusCode.Forbidden, "{\"error\": \"Access denied\"}"));
        registry.Client.DefaultRequestHeaders.Authorization = TestRegistry.Basic("alice", "alice-pw");
        (await Register(registry, "alice/app", "ftp://x")).Should().Be((HttpStatusCode.BadRequest, "{\"error\": \"url must be an absolute http or https URL\"}"));
    }

    private static async Task<(HttpStatusCode Status, string Body)> Register(TestRegistry registry, string repository, string url)
    {
        using var response = await registry.Client.PostAsync($"/v1/repositories/{repository}/webhooks",
            new StringContent($"{{\"url\": \"{url}\"}}", Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Docker Hub's example payload for alice/app with the times the body carries (checked to be now).</summary>
    private static string ExpectedPayload(string body, string tag, string pusher)
    {
        var json = JsonNode.Parse(body)!;
        var pushedAt = (long)json["push_data"]!["pushed_at"]!;
        var created = (long)json["repository"]!["date_created"]!;
        DateTimeOffset.FromUnixTimeSeconds(pushedAt).Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        DateTimeOffset.FromUnixTimeSeconds(created).Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        return "{\"callback_url\":\"http://localhost/v1/repositories/alice/app/webhooks/1/callback\","
            + $"\"push_data\":{{\"images\":[],\"pushed_at\":{pushedAt},\"pusher\":\"{pusher}\",\"tag\":\"{tag}\"}},"
            + $"\"repository\":{{\"comment_count\":0,\"date_created\":{created},\"description\":\"\",\"is_official\":false,"
            + "\"is_private\":false,\"is_trusted\":false,\"name\":\"app\",\"namespace\":\"alice\",\"owner\":\"alice\","
            + "\"repo_name\":\"alice/app\",\"repo_url\":\"http://localhost/ui/r/alice/app\",\"star_count\":0,\"status\":\"Active\"}}";
    }
}
