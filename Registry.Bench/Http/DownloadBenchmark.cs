using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Registry.Bench.Http;

/// <summary>
/// Blob and layer download throughput of our registry against Debian's Go registry on the same file system in the same
/// run: the same generated blob is pushed into both, then GET in interleaved rounds whose order rotates, so that
/// whoever goes first (and meets a quieter machine or colder caches) changes every round. Our server's RSS is sampled
/// throughout and must stay flat.
/// </summary>
internal static class DownloadBenchmark
{
    public const string OptionsHelp = "[--sizes-mib 64,512] [--rounds 6] [--server-dll PATH] [--go-registry PATH] [--out FILE]";

    private const double RatioTarget = 1.0;
    private const string Repository = "bench/download";
    private const int DrainBufferSize = 1 << 20;
    private const int WarmupGets = 3;

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("download", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args, ["--sizes-mib", "--rounds", "--server-dll", "--go-registry", "--out"], []);
        var sizes = ParseSizes(options.GetString("--sizes-mib") ?? "64,512");
        var rounds = options.GetInt("--rounds", 6, 1, 99);
        var registryDll = ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));
        var goBinary = options.GetString("--go-registry") ?? GoRegistryPeer.DefaultBinary;

        Console.WriteLine($"download benchmark: {string.Join(", ", sizes)} MiB blobs, {rounds} rounds, order rotating");
        Console.WriteLine($"machine: {BenchRunner.MachineNote}");
        await using var go = await GoRegistryPeer.StartAsync(goBinary, Path.Combine(temp, "go"), ct);
        await using var ours = await ServerLauncher.StartRegistryAsync(registryDll, Path.Combine(temp, "registry"), ct);
        using var goClient = BenchPush.NewClient(go);
        using var ourClient = BenchPush.NewClient(ours);

        // One object per size, the same bytes on every path.
        var targets = new List<DownloadTarget>
        {
            new("Go registry v2 blob", go, goClient),
            new("our v2 blob", ours, ourClient),
            new("our V1 layer", ours, ourClient),
        };
        foreach (var mib in sizes)
        {
            var size = (long)mib << 20;
            var seed = (ulong)mib;
            var digest = await BenchPush.DigestAsync(size, seed, ct);
            foreach (var (target, index) in targets.Select((t, i) => (t, i)))
            {
                if (index < 2)
                {
                    var status = await BenchPush.PushBlobAsync(target.Client, Repository, size, seed, digest, ct);
                    if (status != HttpStatusCode.Created) throw new ServerNotFunctionalException($"{target.Name}: blob push answered {(int)status}");
                    target.Paths[mib] = $"/v2/{Repository}/blobs/{digest}";
                }
                else
                {
                    target.Paths[mib] = $"/v1/images/{await BenchPush.PushV1LayerAsync(target.Client, size, seed, ct)}/layer";
                }
            }
        }

        foreach (var target in targets)
        {
            for (var i = 0; i < WarmupGets; i++) await GetAsync(target, sizes[0], ct);
        }

        await ours.WaitUntilQuietAsync(ct);
        var ourIdleRss = ours.Sample().RssBytes;
        var goIdleRss = go.Sample().RssBytes;
        var ourRss = new RssSampler(ours.Pid);
        var goRss = new RssSampler(go.Pid);
        await using (ourRss)
        await using (goRss)
        {
            for (var round = 0; round < rounds; round++)
            {
                var order = targets.Skip(round % targets.Count).Concat(targets.Take(round % targets.Count)).ToList();
                foreach (var mib in sizes)
                {
                    foreach (var target in order)
                    {
                        var result = await GetAsync(target, mib, ct);
                        if (!target.Results.TryGetValue(mib, out var results)) target.Results[mib] = results = [];
                        results.Add(result);
                        Console.WriteLine($"  round {round + 1} {mib} MiB {target.Name}: {result.MegabytesPerSecond:F0} MB/s, server CPU {result.ServerCpuSecondsPerGib:F2} s/GiB");
                    }
                }
            }
        }

        var report = new DownloadReport(
            BenchRunner.MachineNote,
            rounds,
            sizes.Select(mib => Summarise(mib, targets)).ToList(),
            ourIdleRss / 1e6,
            ourRss.MaxBytes / 1e6,
            goIdleRss / 1e6,
            goRss.MaxBytes / 1e6);
        Print(report);
        await BenchRunner.WriteReportAsync(options.GetString("--out"), report, ct);
    });

    private static List<int> ParseSizes(string text)
    {
        var sizes = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var mib) || mib is < 1 or > 4096)
            {
                throw new BenchUsageException($"--sizes-mib: '{part}' is not a size between 1 and 4096 MiB");
            }

            sizes.Add(mib);
        }

        return sizes.Count > 0 ? sizes : throw new BenchUsageException("--sizes-mib: no size given");
    }

    private static async Task<TransferResult> GetAsync(DownloadTarget target, int mib, CancellationToken ct)
    {
        var expected = (long)mib << 20;
        var path = target.Paths[mib];
        var cpuBefore = target.Server.Sample().CpuTime;
        var started = Stopwatch.GetTimestamp();
        using var response = await target.Client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new ServerNotFunctionalException($"{target.Name}: GET {path} answered {(int)response.StatusCode}");
        }

        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[DrainBufferSize];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, ct)) > 0) total += read;
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpu = (target.Server.Sample().CpuTime - cpuBefore).TotalSeconds;
        if (total != expected)
        {
            throw new ServerNotFunctionalException($"{target.Name}: GET {path} returned {total} bytes, expected {expected}");
        }

        return new TransferResult(total, seconds, cpu);
    }

    private static DownloadSizeSummary Summarise(int mib, List<DownloadTarget> targets)
    {
        DownloadFigures Figures(DownloadTarget t)
        {
            var results = t.Results.GetValueOrDefault(mib, []);
            return new DownloadFigures(
                t.Name,
                BenchRunner.Median(results.Select(r => r.MegabytesPerSecond).ToList()),
                results.Select(r => Math.Round(r.MegabytesPerSecond, 1)).ToList(),
                BenchRunner.Median(results.Select(r => r.ServerCpuSecondsPerGib).ToList()));
        }

        var go = Figures(targets[0]);
        var v2 = Figures(targets[1]);
        var v1 = Figures(targets[2]);
        return new DownloadSizeSummary(mib, go, v2, v1, v2.MegabytesPerSecond / go.MegabytesPerSecond, v1.MegabytesPerSecond / go.MegabytesPerSecond);
    }

    private static void Print(DownloadReport report)
    {
        Console.WriteLine();
        Console.WriteLine($"Downloads, median of {report.Rounds} rounds (MB = 10^6 bytes; CPU = server CPU s per GiB sent)");
        Console.WriteLine($"  {"size",-8}{"Go v2",10}{"our v2",10}{"ratio",8}{"our V1",10}{"ratio",8}   CPU Go / v2 / V1   target");
        foreach (var s in report.Sizes)
        {
            Console.WriteLine(
                $"  {s.SizeMib + " MiB",-8}{s.Go.MegabytesPerSecond,10:F0}{s.OurV2.MegabytesPerSecond,10:F0}{s.V2Ratio,8:F2}" +
                $"{s.OurV1.MegabytesPerSecond,10:F0}{s.V1Ratio,8:F2}   {s.Go.ServerCpuSecondsPerGib:F2} / {s.OurV2.ServerCpuSecondsPerGib:F2} / {s.OurV1.ServerCpuSecondsPerGib:F2}" +
                $"   >= {RatioTarget:F1}x: {BenchRunner.Verdict(s.V2Ratio >= RatioTarget && s.V1Ratio >= RatioTarget)}");
            Console.WriteLine($"    rounds MB/s: Go {string.Join(" / ", s.Go.Rounds)}; v2 {string.Join(" / ", s.OurV2.Rounds)}; V1 {string.Join(" / ", s.OurV1.Rounds)}");
        }

        Console.WriteLine($"  RSS MB, idle -> peak while downloading: ours {report.OurIdleRssMb:F0} -> {report.OurPeakRssMb:F0}; Go {report.GoIdleRssMb:F0} -> {report.GoPeakRssMb:F0}");
        Console.WriteLine($"  note: {report.Machine}");
    }

    private sealed class DownloadTarget(string name, ChildServer server, HttpClient client)
    {
        public string Name { get; } = name;

        public ChildServer Server { get; } = server;

        public HttpClient Client { get; } = client;

        public Dictionary<int, string> Paths { get; } = [];

        public Dictionary<int, List<TransferResult>> Results { get; } = [];
    }
}

internal sealed record DownloadFigures(string Server, double MegabytesPerSecond, IReadOnlyList<double> Rounds, double ServerCpuSecondsPerGib);

internal sealed record DownloadSizeSummary(int SizeMib, DownloadFigures Go, DownloadFigures OurV2, DownloadFigures OurV1, double V2Ratio, double V1Ratio);

internal sealed record DownloadReport(
    string Machine,
    int Rounds,
    IReadOnlyList<DownloadSizeSummary> Sizes,
    double OurIdleRssMb,
    double OurPeakRssMb,
    double GoIdleRssMb,
    double GoPeakRssMb);
