using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Registry.Core.Distribution;

namespace Registry.Bench.Http;

/// <summary>
/// <c>mirror</c>: the v2 pull-through cache (docs/configuration.md, 'Mirror') against Debian's Go registry as its
/// upstream, in one run. Hit: GET of a cached blob vs GET of a blob of the same size pushed to the same server
/// (the ratio should be at least 0.9). Miss: a blob GET through the mirror vs the Go registry's own GET of it (rate
/// ratio at least 0.8), and the time to the first body byte of each (the mirror's at most 100 ms later). The Go registry
/// itself as a pull-through cache of the same upstream is measured on the same miss as the peer: on a 2-core machine a
/// miss runs three processes (upstream, cache, client) where the direct GET runs two, so the peer ratio says how much
/// of the gap is ours. Each miss round fetches a blob of its own; the CPU seconds every process spent on each kind of
/// transfer are reported with the rates, because on a machine with few cores a miss is bounded by the CPU the three
/// processes need together, not by any one of them.
/// </summary>
internal static class MirrorBenchmark
{
    public const string OptionsHelp = "[--hit-mib 64] [--miss-mib 512] [--rounds 5] [--miss-rounds 3] [--server-dll PATH] [--go-registry PATH]";

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("mirror", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args, ["--hit-mib", "--miss-mib", "--rounds", "--miss-rounds", "--server-dll", "--go-registry"], []);
        var hitMib = options.GetInt("--hit-mib", 64, 1, 16_384);
        var missMib = options.GetInt("--miss-mib", 512, 1, 16_384);
        var rounds = options.GetInt("--rounds", 5, 1, 1000);
        var missRounds = options.GetInt("--miss-rounds", 3, 1, 20);
        var dll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));
        var goBinary = options.GetString("--go-registry") ?? GoRegistryPeer.DefaultBinary;
        Console.WriteLine($"mirror benchmark: hit {hitMib} MiB x {rounds} rounds, miss {missMib} MiB x {missRounds} rounds, upstream Debian's docker-registry");
        Console.WriteLine($"machine: {BenchRunner.MachineNote}");

        await using var upstream = await GoRegistryPeer.StartAsync(goBinary, Path.Combine(temp, "goreg"), ct);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var hitFile = RandomFile(Path.Combine(temp, "hit.bin"), hitMib);
        var hit = await PushAsync(http, upstream.BaseAddress, "bench/cached", hitFile, ct);
        var misses = new List<Digest>();
        for (var i = 0; i < missRounds; i++)
        {
            var missFile = RandomFile(Path.Combine(temp, "miss.bin"), missMib);
            misses.Add(await PushAsync(http, upstream.BaseAddress, "bench/miss", missFile, ct));
            File.Delete(missFile);
        }

        await using var mirror = await ServerLauncher.StartRegistryAsync(dll, Path.Combine(temp, "mirror"), ct,
            new Dictionary<string, string> { ["REGISTRY_PROXY_REMOTEURL"] = upstream.BaseAddress.ToString().TrimEnd('/') });
        // The same bytes pushed under a local name of the same server: the baseline of a hit.
        var local = await PushAsync(http, mirror.BaseAddress, "local/pushed", hitFile, ct);
        if (local != hit) throw new ServerNotFunctionalException("the local push's digest differs from the upstream's");
        var cachedUrl = new Uri(mirror.BaseAddress, $"v2/bench/cached/blobs/{hit}");
        var localUrl = new Uri(mirror.BaseAddress, $"v2/local/pushed/blobs/{hit}");
        await GetAsync(http, cachedUrl, hitMib, ct);
        await GetAsync(http, localUrl, hitMib, ct);
        await mirror.WaitUntilQuietAsync(ct);

        var cachedRates = new List<double>();
        var localRates = new List<double>();
        for (var i = 0; i < rounds; i++)
        {
            // Alternating which goes first, so neither side always pays for what the other left behind.
            if (i % 2 == 1) cachedRates.Add((await GetAsync(http, cachedUrl, hitMib, ct)).MibPerSecond);
            localRates.Add((await GetAsync(http, localUrl, hitMib, ct)).MibPerSecond);
            if (i % 2 == 0) cachedRates.Add((await GetAsync(http, cachedUrl, hitMib, ct)).MibPerSecond);
        }
        var hitRatio = BenchRunner.Median(cachedRates) / BenchRunner.Median(localRates);
        Console.WriteLine($"hit   local GET {BenchRunner.Median(localRates),8:F0} MiB/s  cached GET {BenchRunner.Median(cachedRates),8:F0} MiB/s  " +
                          $"ratio {hitRatio:F2}x (target >= 0.9: {BenchRunner.Verdict(hitRatio >= 0.9)})");

        // A smaller miss first: the connection to the upstream is open and the miss path's loops run their optimized
        // code for the measured one, as in a server that has been up for a while (a perf profile of a 1 MiB warm-up
        // showed the JIT compiling them during the measured miss).
        const int warmMib = 32;
        var warm = await PushAsync(http, upstream.BaseAddress, "bench/warm", RandomFile(Path.Combine(temp, "warm.bin"), warmMib), ct);
        await GetAsync(http, new Uri(mirror.BaseAddress, $"v2/bench/warm/blobs/{warm}"), warmMib, ct);
        await GetAsync(http, new Uri(upstream.BaseAddress, $"v2/bench/warm/blobs/{warm}"), warmMib, ct);
        await using var goProxy = await GoRegistryPeer.StartAsync(goBinary, Path.Combine(temp, "goproxy"), ct,
            upstream.BaseAddress.ToString().TrimEnd('/'));
        await GetAsync(http, new Uri(goProxy.BaseAddress, $"v2/bench/warm/blobs/{warm}"), warmMib, ct);
        await upstream.WaitUntilQuietAsync(ct);
        await mirror.WaitUntilQuietAsync(ct);
        var processes = new[] { upstream, mirror, goProxy };
        var direct = new List<Transfer>();
        var through = new List<Transfer>();
        var peer = new List<Transfer>();
        foreach (var miss in misses)
        {
            direct.Add(await MeasureAsync(http, new Uri(upstream.BaseAddress, $"v2/bench/miss/blobs/{miss}"), missMib, processes, ct));
            through.Add(await MeasureAsync(http, new Uri(mirror.BaseAddress, $"v2/bench/miss/blobs/{miss}"), missMib, processes, ct));
            peer.Add(await MeasureAsync(http, new Uri(goProxy.BaseAddress, $"v2/bench/miss/blobs/{miss}"), missMib, processes, ct));
            // The caches publish and flush after the last byte went out: not inside the next round.
            await mirror.WaitUntilQuietAsync(ct);
            await goProxy.WaitUntilQuietAsync(ct);
        }
        double Rate(List<Transfer> t) => BenchRunner.Median(t.Select(x => x.MibPerSecond).ToList());
        TimeSpan FirstByte(List<Transfer> t) => TimeSpan.FromMilliseconds(BenchRunner.Median(t.Select(x => x.FirstByte.TotalMilliseconds).ToList()));
        var missRatio = Rate(through) / Rate(direct);
        var firstByteDelta = FirstByte(through) - FirstByte(direct);
        Console.WriteLine($"miss  (medians of {missRounds}) upstream GET {Rate(direct),8:F0} MiB/s (first byte {FirstByte(direct).TotalMilliseconds:F1} ms)  " +
                          $"through the mirror {Rate(through),8:F0} MiB/s (first byte {FirstByte(through).TotalMilliseconds:F1} ms)");
        Console.WriteLine($"miss  rate ratio {missRatio:F2}x (target >= 0.8: {BenchRunner.Verdict(missRatio >= 0.8)}), " +
                          $"first byte {firstByteDelta.TotalMilliseconds:F1} ms after the upstream's (target <= 100 ms: {BenchRunner.Verdict(firstByteDelta <= TimeSpan.FromMilliseconds(100))})");
        Console.WriteLine($"miss  the Go registry as a pull-through cache {Rate(peer),8:F0} MiB/s (first byte {FirstByte(peer).TotalMilliseconds:F1} ms): " +
                          $"ours {Rate(through) / Rate(peer):F2}x the peer's, the peer {Rate(peer) / Rate(direct):F2}x the upstream's");
        Console.WriteLine($"miss  per round, MiB/s upstream / ours / Go cache: {string.Join("  ", direct.Select((d, i) => $"{d.MibPerSecond:F0}/{through[i].MibPerSecond:F0}/{peer[i].MibPerSecond:F0}"))}");
        // CPU per GiB of each transfer, by process: what a 2-core machine can give a miss at most is 2 cores' worth.
        foreach (var (label, list) in new[] { ("upstream GET", direct), ("through ours", through), ("through Go  ", peer) })
        {
            var gib = missMib / 1024.0;
            string Cpu(Func<Transfer, TimeSpan> pick) => $"{BenchRunner.Median(list.Select(t => pick(t).TotalSeconds / gib).ToList()),5:F2}";
            var total = BenchRunner.Median(list.Select(t => t.Cpu.Total.TotalSeconds / gib).ToList());
            Console.WriteLine($"cpu   {label}: CPU s/GiB upstream {Cpu(t => t.Cpu.Upstream)}  ours {Cpu(t => t.Cpu.Ours)}  Go cache {Cpu(t => t.Cpu.GoCache)}  " +
                              $"client {Cpu(t => t.Cpu.Client)}  total {total,5:F2} (2 cores allow at most {2 * 1024 / total,5:F0} MiB/s)");
        }
    });

    private sealed record Transfer(double MibPerSecond, TimeSpan FirstByte, CpuUse Cpu = default);

    /// <summary>CPU time each process spent during one transfer.</summary>
    private readonly record struct CpuUse(TimeSpan Upstream, TimeSpan Ours, TimeSpan GoCache, TimeSpan Client)
    {
        public TimeSpan Total => Upstream + Ours + GoCache + Client;
    }

    /// <summary><see cref="GetAsync"/> with the CPU time of the servers (upstream, ours, Go cache) and this process over it.</summary>
    private static async Task<Transfer> MeasureAsync(HttpClient http, Uri url, int mib, ChildServer[] servers, CancellationToken ct)
    {
        var before = servers.Select(s => s.Sample().CpuTime).ToArray();
        var client = Process.GetCurrentProcess().TotalProcessorTime;
        var transfer = await GetAsync(http, url, mib, ct);
        var after = servers.Select(s => s.Sample().CpuTime).ToArray();
        var clientAfter = Process.GetCurrentProcess().TotalProcessorTime;
        return transfer with { Cpu = new CpuUse(after[0] - before[0], after[1] - before[1], after[2] - before[2], clientAfter - client) };
    }

    /// <summary>One GET read to its end and discarded: its rate and the time to the first body byte.</summary>
    private static async Task<Transfer> GetAsync(HttpClient http, Uri url, int mib, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode) throw new ServerNotFunctionalException($"GET {url} answered {(int)response.StatusCode}");
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[1 << 20];
        long total = 0;
        var first = TimeSpan.Zero;
        int n;
        while ((n = await body.ReadAsync(buffer, ct)) > 0)
        {
            if (total == 0) first = Stopwatch.GetElapsedTime(started);
            total += n;
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        if (total != (long)mib << 20) throw new ServerNotFunctionalException($"GET {url} gave {total} bytes, expected {(long)mib << 20}");
        return new Transfer(total / 1048576.0 / elapsed.TotalSeconds, first);
    }

    private static string RandomFile(string path, int mib)
    {
        using var file = File.Create(path);
        var chunk = new byte[1 << 20];
        for (var i = 0; i < mib; i++)
        {
            RandomNumberGenerator.Fill(chunk);
            file.Write(chunk);
        }
        return path;
    }

    /// <summary>A v2 push of the file's bytes (POST, then PUT with the digest), streamed from disk.</summary>
    private static async Task<Digest> PushAsync(HttpClient http, Uri registry, string name, string file, CancellationToken ct)
    {
        Digest digest;
        await using (var read = File.OpenRead(file)) digest = Digest.FromHash("sha256", await SHA256.HashDataAsync(read, ct));
        using var start = await http.PostAsync(new Uri(registry, $"v2/{name}/blobs/uploads/"), null, ct);
        if ((int)start.StatusCode != 202) throw new ServerNotFunctionalException($"POST upload to {registry} answered {(int)start.StatusCode}");
        var location = new Uri(registry, start.Headers.Location!).ToString();
        await using var body = File.OpenRead(file);
        var content = new StreamContent(body, 1 << 20);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = body.Length;
        using var put = await http.PutAsync($"{location}{(location.Contains('?') ? '&' : '?')}digest={Uri.EscapeDataString(digest.ToString())}", content, ct);
        if ((int)put.StatusCode != 201) throw new ServerNotFunctionalException($"PUT upload to {registry} answered {(int)put.StatusCode}");
        return digest;
    }
}
