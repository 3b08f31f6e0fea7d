using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Reliability;

/// <summary>
/// Requests that race on the same image, tag or repository against the real server: every answer is one the
/// protocol allows (never a 5xx), and the final state is one of the valid outcomes, never a mix of two writers.
/// </summary>
[Category("e2e")]
public class RaceTests
{
    private const int Rounds = 5;
    private RegistryProcess _server = null!;
    private HttpClient _client = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        // The racing requests stand for many clients; from one address the upload cap would refuse some of them.
        _server = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["LOGLEVEL"] = "warn", ["MAX_UPLOADS_PER_CLIENT"] = "0" });
        _client = new HttpClient { BaseAddress = _server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Test]
    public async Task Concurrent_pushes_of_one_image_id_with_different_layers_leave_one_whole_image()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var id = V1Client.NewImageId();
            var json = V1Client.ImageJson(id);
            var layers = Enumerable.Range(0, 8).Select(i => V1Client.RandomBytes(50_000 + i * 40_000)).ToList();
            var answers = await Task.WhenAll(layers.Select(layer => PushAnswersAsync(id, json, layer)));

            foreach (var a in answers)
            {
                a.Json.Should().BeOneOf(200, 409);
                a.Layer.Should().BeOneOf(200, 400, 409);
                a.Checksum.Should().BeOneOf(200, 400, 409);
            }

            // Whoever won, the image is whole: its layer is one client's upload, byte for byte, under that layer's checksum.
            var anyChecksumAccepted = answers.Any(a => a.Checksum == 200);
            var (status, _) = await _client.GetAsync($"/v1/images/{id}/json").ReadAsync();
            status.Should().Be(anyChecksumAccepted ? 200 : 400);
            if (!anyChecksumAccepted)
            {
                // Every writer lost to another's restart: a plain retry completes the image.
                await _client.PushImageAsync(id, layers[0]);
            }
            using var response = await _client.GetAsync($"/v1/images/{id}/json");
            var served = await _client.GetByteArrayAsync($"/v1/images/{id}/layer");
            layers.Should().ContainSingle(l => l.SequenceEqual(served), "the layer is one upload, never a mix");
            response.Header("X-Docker-Checksum-Payload").Should().Be(V1Client.PayloadChecksum(json, served));
        }
    }

    [Test]
    public async Task Concurrent_puts_of_one_tag_leave_one_of_the_written_values()
    {
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add(V1Client.NewImageId());
            await _client.PushImageAsync(ids[^1], [(byte)i]);
        }
        for (var round = 0; round < Rounds; round++)
        {
            var repo = $"race/tag{round}";
            var answers = await Task.WhenAll(ids.Select(id => _client.PutTagAsync(repo, "latest", id).ReadAsync()));
            answers.Should().AllSatisfy(a => a.Should().Be((200, "true")));

            var (status, value) = await _client.GetAsync($"/v1/repositories/{repo}/tags/latest").ReadAsync();
            status.Should().Be(200);
            var winner = JsonSerializer.Deserialize<string>(value)!;
            ids.Should().Contain(winner);
            (await _client.GetAsync($"/v1/repositories/{repo}/tags").ReadAsync()).Should().Be((200, $"{{\"latest\": \"{winner}\"}}"));
        }
    }

    [Test]
    public async Task Tag_put_racing_a_repository_delete_ends_with_the_repository_gone_or_holding_only_the_new_tag()
    {
        var id = V1Client.NewImageId();
        await _client.PushImageAsync(id, [1, 2, 3]);
        var outcomes = new Dictionary<string, int>();
        for (var round = 0; round < Rounds * 4; round++)
        {
            var repo = $"race/delete{round}";
            (await _client.PutTagAsync(repo, "old", id).ReadAsync()).Should().Be((200, "true"));

            var put = _client.PutTagAsync(repo, "new", id).ReadAsync();
            var delete = _client.DeleteAsync($"/v1/repositories/{repo}/").ReadAsync();
            (await put).Should().Be((200, "true"));
            (await delete).Should().Be((200, "true"), "the repository existed when the delete started");

            var (status, tags) = await _client.GetAsync($"/v1/repositories/{repo}/tags").ReadAsync();
            var outcome = status == 404 ? "deleted after the put" : tags;
            outcome.Should().BeOneOf("deleted after the put", $"{{\"new\": \"{id}\"}}");
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;

            var listed = await SearchListsAsync(repo);
            listed.Should().Be(status == 200, "the search index agrees with storage");
        }
        TestContext.Out.WriteLine(string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}")));
    }

    [Test]
    public async Task Layer_reads_racing_the_upload_and_the_checksum_see_in_progress_or_the_whole_layer()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var id = V1Client.NewImageId();
            var json = V1Client.ImageJson(id);
            var layer = V1Client.RandomBytes(3_000_000);
            (await _client.PutJsonAsync(id, json).ReadAsync()).Should().Be((200, "true"));

            using var stop = new CancellationTokenSource();
            var readers = Enumerable.Range(0, 4).Select(_ => ReadUntilStoppedAsync(id, layer, json, stop.Token)).ToList();
            (await _client.PutLayerAsync(id, layer).ReadAsync()).Should().Be((200, "true"));
            (await _client.PutChecksumAsync(id, V1Client.PayloadChecksum(json, layer)).ReadAsync()).Should().Be((200, "true"));
            await Task.Delay(50);
            await stop.CancelAsync();
            var seen = (await Task.WhenAll(readers)).SelectMany(s => s).ToList();

            seen.Distinct().Should().BeSubsetOf(["layer 400", "layer 200 whole", "json 400", "json 200 whole"],
                "an image is served only complete, after its checksum");
            seen.Should().Contain("layer 400");
            (await _client.GetByteArrayAsync($"/v1/images/{id}/layer")).Should().Equal(layer);
        }
    }

    private async Task<List<string>> ReadUntilStoppedAsync(string id, byte[] layer, string json, CancellationToken stop)
    {
        var seen = new List<string>();
        while (!stop.IsCancellationRequested)
        {
            using (var response = await _client.GetAsync($"/v1/images/{id}/layer", CancellationToken.None))
            {
                var body = await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
                var status = (int)response.StatusCode;
                seen.Add(status == 200 ? (body.AsSpan().SequenceEqual(layer) ? "layer 200 whole" : $"layer 200 with {body.Length} wrong bytes") : $"layer {status}");
            }
            var (jsonStatus, jsonBody) = await _client.GetAsync($"/v1/images/{id}/json", CancellationToken.None).ReadAsync();
            seen.Add(jsonStatus == 200 ? (jsonBody == json ? "json 200 whole" : "json 200 wrong") : $"json {jsonStatus}");
        }
        return seen;
    }

    private async Task<(int Json, int Layer, int Checksum)> PushAnswersAsync(string id, string json, byte[] layer)
    {
        var jsonStatus = (await _client.PutJsonAsync(id, json).ReadAsync()).Status;
        var layerStatus = (await _client.PutLayerAsync(id, layer).ReadAsync()).Status;
        var checksumStatus = (await _client.PutChecksumAsync(id, V1Client.PayloadChecksum(json, layer)).ReadAsync()).Status;
        return (jsonStatus, layerStatus, checksumStatus);
    }

    private async Task<bool> SearchListsAsync(string repo)
    {
        var (status, body) = await _client.GetAsync($"/v1/search?q={repo}&n=100").ReadAsync();
        status.Should().Be(200);
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("results").EnumerateArray().Any(r => r.GetProperty("name").GetString() == repo);
    }
}
