using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;
using Registry.Tests.Support;

namespace Registry.Tests.Notifications;

/// <summary>
/// The same requests against Debian's Go registry (distribution 2.8.2) and ours, both notifying one receiver: the
/// bodies must be the same text once the values that differ by nature (ids, times, addresses, ports) are masked.
/// docs/operating.md, 'What is sent' lists the deviations (HEAD is no pull, only 2xx is accepted), which these requests avoid.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class GoNotificationParityTests
{
    [Test]
    public async Task Our_events_are_the_go_registrys_events_for_the_same_requests()
    {
        await using var receiver = new EventReceiver();
        receiver.Start();
        await using var go = await GoRegistry.StartAsync(extraYaml:
            $"notifications: {{endpoints: [{{name: go, url: 'http://127.0.0.1:{receiver.Port}/go', timeout: 1s, threshold: 3, backoff: 100ms}}]}}");
        await using var ours = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["REGISTRY_NOTIFICATIONS_ENDPOINTS"] = $"[{{name: ours, url: 'http://127.0.0.1:{receiver.Port}/ours'}}]",
            ["REGISTRY_STORAGE_DELETE_ENABLED"] = "true",
        });
        using var goClient = new HttpClient { BaseAddress = go.BaseAddress };
        var ourClient = ours.Client;
        foreach (var client in new[] { goClient, ourClient }) client.DefaultRequestHeaders.UserAgent.ParseAdd("parity/1.0");

        var layer = Encoding.UTF8.GetBytes("the same layer for both");
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        var manifest = V2Seed.DockerManifest(
            new SeededBlob(Digest.Compute("sha256", config), config, V2Seed.DockerConfigType),
            new SeededBlob(Digest.Compute("sha256", layer), layer, V2Seed.DockerLayerType));
        var layerDigest = Digest.Compute("sha256", layer);
        foreach (var client in new[] { goClient, ourClient })
        {
            await GoRegistry.PushBlobAsync(client, "lib/app", layer);
            await GoRegistry.PushBlobAsync(client, "lib/app", config);
            await client.PushManifestAsync("lib/app", "v1", manifest);
            (await client.SendAsync(HttpMethod.Get, "/v2/lib/app/manifests/v1", ("Accept", manifest.MediaType))).StatusCode.Should().Be(HttpStatusCode.OK);
            (await client.GetAsync($"/v2/lib/app/blobs/{layerDigest}")).StatusCode.Should().Be(HttpStatusCode.OK);
            (await client.PostAsync($"/v2/lib/copy/blobs/uploads/?mount={layerDigest}&from=lib/app", null)).StatusCode.Should().Be(HttpStatusCode.Created);
            (await client.DeleteAsync($"/v2/lib/app/manifests/{manifest.Digest}")).StatusCode.Should().Be(HttpStatusCode.Accepted);
        }

        await receiver.WaitForAsync(16);
        var fromGo = receiver.Accepted.Where(d => d.Path == "/go").ToList();
        var fromUs = receiver.Accepted.Where(d => d.Path == "/ours").ToList();
        fromGo.Select(d => d.ContentType).Distinct().Should().Equal("application/vnd.docker.distribution.events.v1+json");
        fromUs.Select(d => d.ContentType).Distinct().Should().Equal("application/vnd.docker.distribution.events.v2+json");
        fromUs.Select(d => Mask(d.Body, ours.Port)).Should().Equal(fromGo.Select(d => Mask(d.Body, go.Port)));
        fromUs.Should().HaveCount(8, "the manifest delete is followed by a delete of its tag, as in distribution");
    }

    /// <summary>The body with ids, times, addresses and the registry's port replaced by fixed text.</summary>
    private static string Mask(string body, int port)
    {
        var masked = MaskedValue().Replace(body, m => $"\"{m.Groups[1].Value}\": \"*\"");
        return masked.Replace($"127.0.0.1:{port}", "REGISTRY", StringComparison.Ordinal);
    }

    [GeneratedRegex("\"(id|timestamp|addr|instanceID)\": \"[^\"]*\"")]
    private static partial Regex MaskedValue();
}
