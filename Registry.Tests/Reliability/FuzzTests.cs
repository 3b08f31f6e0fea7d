using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Reliability;

/// <summary>
/// Thousands of generated hostile requests over raw TCP to the real server: no 5xx, nothing outside the storage
/// root created, changed, deleted or served, and the server keeps answering <c>/v1/_ping</c>. FUZZ_SEED replays a run.
/// </summary>
[Category("e2e")]
public class FuzzTests
{
    private const int RequestCount = 3000;
    private const int Parallelism = 8;
    private const int PingEvery = 250;
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(15);

    [Test]
    public async Task Hostile_requests_get_no_5xx_touch_nothing_outside_storage_and_the_server_keeps_answering()
    {
        var seed = Seeds.Pick("FUZZ_SEED");
        var rng = new Random(seed);
        await using var server = await RegistryProcess.StartAsync(new Dictionary<string, string?>
        {
            ["LOGLEVEL"] = "warn",
            ["MAX_JSON_BODY_BYTES"] = "65536",
            // Bodies the generator leaves incomplete are answered 408 once no byte has arrived for 2 s (the default is
            // 60), well within AnswerTimeout. The minimum body rate alone would not do: it averages since the body
            // began, so 7 KB sent and then a stall is cut only after 7 KB / 240 B/s, about 30 s.
            ["BODY_IDLE_TIMEOUT"] = "2",
        });

        var image = V1Client.NewImageId();
        await server.Client.PushImageAsync(image, V1Client.RandomBytes(1000));
        (await server.Client.PutTagAsync("fuzz/base", "latest", image).ReadAsync()).Should().Be((200, "true"));
        // The generator targets fuzz/base (and may delete it); this one it never names.
        (await server.Client.PutTagAsync("untouched/keep", "v1", image).ReadAsync()).Should().Be((200, "true"));

        var canary = "CANARY-" + Guid.NewGuid().ToString("N");
        var canaryImage = V1Client.NewImageId();
        var planted = PlantCanaries(server.RootDirectory, canary, canaryImage);
        var before = Snapshot(server.RootDirectory, server.StoragePath);
        string[] traversal =
        [
            "../images/" + canaryImage, "../../images/" + canaryImage, "..%2Fimages%2F" + canaryImage, "%2E%2E%2Fimages%2F" + canaryImage,
            "../repositories/library/canary", "..%2F..%2Frepositories%2Flibrary%2Fcanary", "../canary.txt", "..%2Fcanary.txt",
            "%252E%252E%252Fcanary.txt", canaryImage, "canary", "..", "../..", "../json",
        ];

        var generator = new HostileRequests(rng, image, "fuzz/base", traversal);
        var requests = Enumerable.Range(0, RequestCount).Select(_ => generator.Next()).ToList();
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<string, int>();
        await Parallel.ForEachAsync(Enumerable.Range(0, RequestCount), new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (i, ct) =>
        {
            var request = requests[i];
            var answer = await SendAsync(server.Port, request, new Random(seed ^ i), ct);
            statuses.AddOrUpdate(answer.Kind, 1, (_, n) => n + 1);
            if (answer.Status >= 500 && !(answer.Status == 505 && request.OddVersion))
                failures.Enqueue($"#{i} {request.Summary} -> {answer.Status}: {Shorten(answer.Text)}");
            if (answer.Kind == "timeout")
                failures.Enqueue($"#{i} {request.Summary} -> no answer within {AnswerTimeout.TotalSeconds} s");
            // Kestrel takes a client's half-close (FIN) for an abort and drops the request; anyone else gets an answer.
            if (answer.Kind == "closed" && request.Delivery != Delivery.HalfClosed)
                failures.Enqueue($"#{i} {request.Summary} -> connection closed without an answer");
            if (answer.Text.Contains(canary, StringComparison.Ordinal))
                failures.Enqueue($"#{i} {request.Summary} -> served the canary outside the storage root");
            if (i % PingEvery == 0)
            {
                var ping = await SendAsync(server.Port, new HostileRequest("ping", "GET /v1/_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray(), Delivery.Whole, false), new Random(i), ct);
                if (ping.Status != 200) failures.Enqueue($"after #{i}: /v1/_ping answered {ping.Kind}");
            }
        });

        TestContext.Out.WriteLine($"{RequestCount} requests (seed {seed}): " +
            string.Join(", ", statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}")));
        failures.Should().BeEmpty();
        server.HasExited.Should().BeFalse();
        (await server.Client.GetAsync("/v1/_ping").ReadAsync()).Status.Should().Be(200);
        (await server.Client.GetAsync("/v1/repositories/untouched/keep/tags/v1").ReadAsync()).Should().Be((200, $"\"{image}\""));
        Snapshot(server.RootDirectory, server.StoragePath).Should().BeEquivalentTo(before, "nothing outside the storage root is created, changed or deleted");
        foreach (var file in planted) File.ReadAllText(file).Should().Be(canary);
        server.Output.Split('\n').Where(l => l.Contains(" fail: ", StringComparison.Ordinal) || l.Contains(" crit: ", StringComparison.Ordinal))
            .Should().BeEmpty("the server logs no unhandled error");
    }

    private sealed record Answer(string Kind, int Status, string Text);

    private static async Task<Answer> SendAsync(int port, HostileRequest request, Random rng, CancellationToken ct)
    {
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
        var stream = tcp.GetStream();
        try
        {
            switch (request.Delivery)
            {
                case Delivery.Abandoned:
                    await stream.WriteAsync(request.Bytes.AsMemory(0, rng.Next(1, request.Bytes.Length)), ct);
                    return new Answer("abandoned", 0, "");
                case Delivery.Slow:
                    var cut1 = rng.Next(request.Bytes.Length);
                    var cut2 = rng.Next(cut1, request.Bytes.Length);
                    foreach (var (from, to) in new[] { (0, cut1), (cut1, cut2), (cut2, request.Bytes.Length) })
                    {
                        await stream.WriteAsync(request.Bytes.AsMemory(from, to - from), ct);
                        await Task.Delay(rng.Next(20, 150), ct);
                    }
                    break;
                default:
                    await stream.WriteAsync(request.Bytes, ct);
                    if (request.Delivery == Delivery.HalfClosed) tcp.Client.Shutdown(SocketShutdown.Send);
                    break;
            }
        }
        catch (IOException)
        {
            // The server may answer and close before it has read everything (an early 4xx); read that answer.
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(AnswerTimeout);
        var received = new MemoryStream();
        var head = request.Bytes.AsSpan().StartsWith("HEAD "u8);
        var buffer = new byte[16384];
        try
        {
            // Stop at the end of the first complete answer: with a body left unread, Kestrel waits a few seconds
            // to drain it before it closes the connection, which would only slow the run down.
            while (!RawHttp.IsComplete(received.GetBuffer().AsSpan(0, (int)received.Length), head))
            {
                var n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0) break;
                received.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Answer("timeout", 0, Encoding.UTF8.GetString(received.ToArray()));
        }
        catch (IOException)
        {
            // A reset after (or instead of) the answer: judge what arrived.
        }

        var text = Encoding.UTF8.GetString(received.ToArray());
        // Interim "100 Continue" answers (Expect: 100-continue) precede the real one.
        while (text.StartsWith("HTTP/1.1 100 ", StringComparison.Ordinal) && text.IndexOf("\r\n\r\n", StringComparison.Ordinal) is var end and >= 0)
            text = text[(end + 4)..];
        if (text.Length == 0) return new Answer("closed", 0, "");
        var parts = text.Split(' ', 3);
        var status = parts.Length > 1 && int.TryParse(parts[1], out var s) ? s : -1;
        return new Answer(status.ToString(System.Globalization.CultureInfo.InvariantCulture), status, text);
    }

    /// <summary>
    /// Files beside the storage root that a traversal would reach: an image and a repository laid out as in storage,
    /// and plain files, all holding <paramref name="canary"/>.
    /// </summary>
    private static List<string> PlantCanaries(string root, string canary, string canaryImage)
    {
        var files = new List<string>
        {
            Path.Combine(root, "images", canaryImage, "json"),
            Path.Combine(root, "images", canaryImage, "layer"),
            Path.Combine(root, "images", canaryImage, "ancestry"),
            Path.Combine(root, "repositories", "library", "canary", "tag_latest"),
            Path.Combine(root, "repositories", "library", "canary", "json"),
            Path.Combine(root, "canary.txt"),
            Path.Combine(root, "json"),
        };
        foreach (var file in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, canary);
        }
        return files;
    }

    /// <summary>Every file and directory under <paramref name="root"/> except the storage root and the search database.</summary>
    private static Dictionary<string, string> Snapshot(string root, string storage)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
        {
            if (path == storage || path.StartsWith(storage + "/", StringComparison.Ordinal)) continue;
            var name = Path.GetFileName(path);
            if (name.StartsWith("search.db", StringComparison.Ordinal)) continue;
            entries[path] = Directory.Exists(path)
                ? "dir"
                : $"{new FileInfo(path).Length} {File.GetLastWriteTimeUtc(path):O} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))}";
        }
        return entries;
    }

    private static string Shorten(string s) => s.Length <= 300 ? s : s[..300] + "...";
}
