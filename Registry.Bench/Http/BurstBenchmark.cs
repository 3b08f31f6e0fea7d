using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Registry.Bench.Http;

/// <summary>
/// Bursts of concurrent blob pushes from one client address (a build farm behind one NAT address): how many each server
/// stores and how many it refuses, and how long the burst takes, for our registry with its defaults, our registry with
/// the former fixed cap (8 per client, refused at once), and Debian's Go registry, all in one run.
/// </summary>
internal static class BurstBenchmark
{
    public const string OptionsHelp = "[--pushes 16,64] [--size-mib 8] [--rounds 2] [--server-dll PATH] [--go-registry PATH] [--out FILE]";

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("bursts", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args, ["--pushes", "--size-mib", "--rounds", "--server-dll", "--go-registry", "--out"], []);
        var counts = (options.GetString("--pushes") ?? "16,64")
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(c => int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 1024
                ? n
                : throw new BenchUsageException($"--pushes: '{c}' is not a count between 1 and 1024"))
            .ToList();
        var sizeMib = options.GetInt("--size-mib", 8, 1, 1024);
        var rounds = options.GetInt("--rounds", 2, 1, 99);
        var registryDll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));
        var goBinary = options.GetString("--go-registry") ?? GoRegistryPeer.DefaultBinary;

        Console.WriteLine($"bursts benchmark: {string.Join(", ", counts)} concurrent {sizeMib} MiB blob pushes from one address, {rounds} rounds");
        Console.WriteLine($"machine: {BenchRunner.MachineNote}");
        await using var go = await GoRegistryPeer.StartAsync(goBinary, Path.Combine(temp, "go"), ct);
        await using var ours = await ServerLauncher.StartRegistryAsync(registryDll, Path.Combine(temp, "registry"), ct);
        await using var capped = await ServerLauncher.StartRegistryAsync(
            registryDll,
            Path.Combine(temp, "capped"),
            ct,
            new Dictionary<string, string> { ["MAX_UPLOADS_PER_CLIENT"] = "8", ["UPLOAD_QUEUE_PER_CLIENT"] = "0" });
        var targets = new List<(string Name, ChildServer Server)>
        {
            ("Go registry", go),
            ("ours (defaults)", ours),
            ("ours (former cap: 8, no queue)", capped),
        };

        var size = (long)sizeMib << 20;
        var results = new List<BurstResult>();
        ulong seed = 1;
        for (var round = 0; round < rounds; round++)
        {
            var order = round % 2 == 0 ? targets : Enumerable.Reverse(targets).ToList();
            foreach (var count in counts)
            {
                foreach (var (name, server) in order)
                {
                    var result = await BurstAsync(name, server, count, size, seed, ct);
                    seed += (ulong)count;
                    results.Add(result);
                    Console.WriteLine(
                        $"  round {round + 1} {count} pushes {name}: stored {result.Stored}, refused (429) {result.Refused}, other {result.Other}, " +
                        $"{result.Seconds:F2} s");
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"Bursts of concurrent {sizeMib} MiB pushes from one address, median time of {rounds} rounds");
        foreach (var count in counts)
        {
            foreach (var (name, _) in targets)
            {
                var mine = results.Where(r => r.Server == name && r.Pushes == count).ToList();
                Console.WriteLine(
                    $"  {count,4} pushes  {name,-32} stored {mine.Sum(r => r.Stored),4} / {mine.Sum(r => r.Pushes),-4} refused {mine.Sum(r => r.Refused),4}" +
                    $"   {BenchRunner.Median(mine.Select(r => r.Seconds).ToList()),6:F2} s");
            }
        }

        Console.WriteLine($"  note: {BenchRunner.MachineNote}");
        await BenchRunner.WriteReportAsync(options.GetString("--out"), new BurstReport(BenchRunner.MachineNote, sizeMib, rounds, results), ct);
    });

    private static async Task<BurstResult> BurstAsync(string name, ChildServer server, int count, long size, ulong firstSeed, CancellationToken ct)
    {
        var seeds = Enumerable.Range(0, count).Select(i => firstSeed + (ulong)i).ToList();
        var digests = await Task.WhenAll(seeds.Select(s => BenchPush.DigestAsync(size, s, ct)));
        using var client = BenchPush.NewClient(server);
        var started = Stopwatch.GetTimestamp();
        var statuses = await Task.WhenAll(seeds.Select((s, i) => PushOrFailAsync(client, size, s, digests[i], ct)));
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return new BurstResult(
            name,
            count,
            statuses.Count(s => s == HttpStatusCode.Created),
            statuses.Count(s => s == HttpStatusCode.TooManyRequests),
            statuses.Count(s => s is not HttpStatusCode.Created and not HttpStatusCode.TooManyRequests),
            seconds);
    }

    /// <summary>
    /// A refused PUT may also surface as a reset connection (the server answered before reading the body); that counts as
    /// "other", as does any status but 201 and 429.
    /// </summary>
    private static async Task<HttpStatusCode> PushOrFailAsync(HttpClient client, long size, ulong seed, string digest, CancellationToken ct)
    {
        try
        {
            return await BenchPush.PushBlobAsync(client, "bench/burst", size, seed, digest, ct);
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }
}

internal sealed record BurstResult(string Server, int Pushes, int Stored, int Refused, int Other, double Seconds);

internal sealed record BurstReport(string Machine, int SizeMib, int Rounds, IReadOnlyList<BurstResult> Results);
