using System.Diagnostics;
using System.Globalization;

namespace Registry.Bench.Http;

/// <summary>
/// Layer upload and download throughput of the registry against a bare-Kestrel baseline measured
/// in the same run, plus the registry's peak RSS while a large layer streams through it.
/// </summary>
internal static class LayerBenchmark
{
    public const string OptionsHelp =
        "[--size-mib 512] [--rss-size-mib 2048] [--rounds 3] [--server-dll PATH] [--out FILE] [--baseline-only] [--v2]";

    private const double UploadTarget = 0.8;
    private const double DownloadTarget = 0.9;
    private const double RssTargetMb = 200;
    private const long WarmupBytes = 16L << 20;
    private const int MinWarmupRoundTrips = 3;
    private const int MaxWarmupRoundTrips = 40;
    private static readonly TimeSpan WarmupTime = TimeSpan.FromSeconds(3);

    public static Task<int> RunAsync(string[] args) => BenchRunner.RunAsync("layer", async (temp, ct) =>
    {
        var options = BenchArgs.Parse(args, ["--size-mib", "--rss-size-mib", "--rounds", "--server-dll", "--out"], ["--baseline-only", "--v2"]);
        var sizeMib = options.GetInt("--size-mib", 512, 1, 1 << 20);
        var rssSizeMib = options.GetInt("--rss-size-mib", 2048, 1, 1 << 20);
        var rounds = options.GetInt("--rounds", 3, 1, 99);
        var baselineOnly = options.Has("--baseline-only");
        var withV2 = options.Has("--v2") && !baselineOnly;
        var registryDll = baselineOnly ? null : ServerLauncher.ResolveRegistryDll(options.GetString("--server-dll"));

        Console.WriteLine($"layer benchmark: {sizeMib} MiB layer, {rounds} interleaved rounds, RSS probe with {rssSizeMib} MiB");
        Console.WriteLine($"machine: {BenchRunner.MachineNote}");

        await using var baselineServer = await ServerLauncher.StartBaselineAsync(Path.Combine(temp, "baseline"), ct);
        await using var registryServer = registryDll is null
            ? null
            : await ServerLauncher.StartRegistryAsync(registryDll, Path.Combine(temp, "registry"), ct);
        using var baselineClient = NewClient(baselineServer);
        using var registryClient = registryServer is null ? null : NewClient(registryServer);

        var targets = new List<LayerTarget> { new BaselineLayerTarget(baselineServer, baselineClient) };
        if (registryServer is not null)
        {
            targets.Add(new RegistryLayerTarget(registryServer, registryClient!));
            if (withV2)
            {
                targets.Add(new RegistryV2BlobTarget(registryServer, registryClient!));
            }
        }

        var figures = targets.ToDictionary(t => t, t => new ServerFigures(Label(t), t.Server.Pid));

        // Warm-up proves the whole protocol flow works before minutes are spent on large
        // transfers, and runs long enough for tiered JIT to settle: profiles showed the JIT still
        // busy during the first large upload after a single short round trip.
        foreach (var target in targets)
        {
            var warmupStarted = Stopwatch.GetTimestamp();
            var warmups = 0;
            while (warmups < MaxWarmupRoundTrips
                   && (warmups < MinWarmupRoundTrips || Stopwatch.GetElapsedTime(warmupStarted) < WarmupTime))
            {
                await target.RoundTripAsync(WarmupBytes, seed: (ulong)(1000 + warmups), ct);
                warmups++;
            }

            var quiet = await target.Server.WaitUntilQuietAsync(ct);
            figures[target].IdleRssMb = target.Server.Sample().RssBytes / 1e6;
            Console.WriteLine(
                $"  warm-up ok: {Label(target)} (pid {target.Server.Pid}), {warmups} round trips of {WarmupBytes >> 20} MiB, quiet after {quiet.TotalSeconds:F1} s");
        }

        var size = (long)sizeMib << 20;
        for (var round = 1; round <= rounds; round++)
        {
            // Odd rounds baseline first, even rounds registry first (B R, R B, B R, ...): whichever
            // goes second in a round meets the other's dirty pages and warm sockets, and
            // alternating cancels that drift instead of always charging it to the same server.
            var order = round % 2 == 1 ? targets : Enumerable.Reverse(targets).ToList();
            foreach (var target in order)
            {
                var index = targets.IndexOf(target);
                var (upload, download) = await target.RoundTripAsync(size, seed: (ulong)(round * 100 + index + 2), ct);
                figures[target].Uploads.Add(upload);
                figures[target].Downloads.Add(download);
                Console.WriteLine(
                    $"  round {round} {Label(target)}: upload {upload.MegabytesPerSecond:F1} MB/s, download {download.MegabytesPerSecond:F1} MB/s");
            }
        }

        var rssSize = (long)rssSizeMib << 20;
        foreach (var target in targets)
        {
            var sampler = new RssSampler(target.Server.Pid);
            await using (sampler)
            {
                await target.RoundTripAsync(rssSize, seed: 7, ct);
            }

            figures[target].MaxRssMb = sampler.MaxBytes / 1e6;
            figures[target].RssSamples = sampler.Samples;
            Console.WriteLine($"  RSS probe {Label(target)}: max {sampler.MaxBytes / 1e6:F1} MB over {sampler.Samples} samples");
        }

        var report = BuildReport(
            sizeMib, rssSizeMib, rounds, figures[targets[0]], targets.Count > 1 ? figures[targets[1]] : null, targets.Count > 2 ? figures[targets[2]] : null);
        PrintTable(report);
        await BenchRunner.WriteReportAsync(options.GetString("--out"), report, ct);
    });

    private static HttpClient NewClient(ChildServer server) => new(new SocketsHttpHandler
    {
        UseCookies = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
    })
    {
        BaseAddress = server.BaseAddress,
        // Bounded: a 2 GiB round trip at a pessimistic 20 MB/s still fits.
        Timeout = TimeSpan.FromMinutes(10),
    };

    private static string Label(LayerTarget target) => target switch
    {
        RegistryV2BlobTarget => target.Server.Name + " v2 blob",
        RegistryLayerTarget => target.Server.Name + " V1 layer",
        _ => target.Server.Name,
    };

    private static LayerReport BuildReport(int sizeMib, int rssSizeMib, int rounds, ServerFigures baseline, ServerFigures? registry, ServerFigures? v2)
    {
        var baselineSummary = baseline.Summarise();
        var registrySummary = registry?.Summarise();
        var v2Summary = v2?.Summarise();
        double? uploadRatio = registrySummary is null ? null : registrySummary.UploadMbPerSecond / baselineSummary.UploadMbPerSecond;
        double? downloadRatio = registrySummary is null ? null : registrySummary.DownloadMbPerSecond / baselineSummary.DownloadMbPerSecond;
        return new LayerReport(
            BenchRunner.MachineNote,
            Environment.ProcessorCount,
            sizeMib,
            rssSizeMib,
            rounds,
            baselineSummary,
            registrySummary,
            uploadRatio,
            downloadRatio,
            new LayerTargets(UploadTarget, DownloadTarget, RssTargetMb),
            v2Summary,
            v2Summary is null ? null : v2Summary.UploadMbPerSecond / baselineSummary.UploadMbPerSecond,
            v2Summary is null ? null : v2Summary.DownloadMbPerSecond / baselineSummary.DownloadMbPerSecond,
            registrySummary is null
                ? null
                : uploadRatio >= UploadTarget && downloadRatio >= DownloadTarget && registrySummary.MaxRssMb < RssTargetMb);
    }

    private static void PrintTable(LayerReport report)
    {
        var b = report.Baseline;
        var r = report.Registry;
        Console.WriteLine();
        Console.WriteLine($"Layer transfer, {report.SizeMib} MiB, median of {report.Rounds} interleaved rounds (MB = 10^6 bytes)");
        Console.WriteLine($"  {"",-34}{"baseline",12}{"registry",12}{"ratio",9}  target");
        Row("upload MB/s", b.UploadMbPerSecond, r?.UploadMbPerSecond, report.UploadRatio, $">= {UploadTarget:F2}x");
        Row("download MB/s", b.DownloadMbPerSecond, r?.DownloadMbPerSecond, report.DownloadRatio, $">= {DownloadTarget:F2}x");
        Row("server CPU s/GiB, upload", b.UploadServerCpuSecondsPerGib, r?.UploadServerCpuSecondsPerGib, null, "");
        Row("server CPU s/GiB, download", b.DownloadServerCpuSecondsPerGib, r?.DownloadServerCpuSecondsPerGib, null, "");
        Row("idle RSS after warm-up, MB", b.IdleRssMb, r?.IdleRssMb, null, "");
        Row($"max RSS, {report.RssSizeMib} MiB up+down, MB", b.MaxRssMb, r?.MaxRssMb, null, $"registry < {RssTargetMb:F0} MB");
        Console.WriteLine($"  rounds, upload MB/s:   baseline {Join(b.UploadRoundsMbPerSecond)}; registry {Join(r?.UploadRoundsMbPerSecond)}");
        Console.WriteLine($"  rounds, download MB/s: baseline {Join(b.DownloadRoundsMbPerSecond)}; registry {Join(r?.DownloadRoundsMbPerSecond)}");
        if (r is null)
        {
            Console.WriteLine("  registry: not measured (--baseline-only)");
        }
        else
        {
            Console.WriteLine($"  upload {BenchRunner.Verdict(report.UploadRatio >= UploadTarget)}, " +
                $"download {BenchRunner.Verdict(report.DownloadRatio >= DownloadTarget)}, " +
                $"RSS {BenchRunner.Verdict(r.MaxRssMb < RssTargetMb)}");
        }

        if (report.V2 is { } v2)
        {
            Console.WriteLine($"  v2 blob path (POST, chunked PATCH, PUT ?digest=; GET blob) on the same registry process:");
            Row("v2 upload MB/s", b.UploadMbPerSecond, v2.UploadMbPerSecond, report.V2UploadRatio, r is null ? "" : $"V1 {r.UploadMbPerSecond:F1}");
            Row("v2 download MB/s", b.DownloadMbPerSecond, v2.DownloadMbPerSecond, report.V2DownloadRatio, r is null ? "" : $"V1 {r.DownloadMbPerSecond:F1}");
            Row($"v2 max RSS, {report.RssSizeMib} MiB up+down, MB", b.MaxRssMb, v2.MaxRssMb, null, "");
            Console.WriteLine($"  rounds, v2 upload MB/s: {Join(v2.UploadRoundsMbPerSecond)}; download: {Join(v2.DownloadRoundsMbPerSecond)}");
        }

        Console.WriteLine($"  note: {report.Machine}");
    }

    private static void Row(string label, double baseline, double? registry, double? ratio, string target) =>
        Console.WriteLine(
            $"  {label,-34}{baseline,12:F1}{Format(registry, "F1"),12}{Format(ratio, "F2"),9}  {target}");

    private static string Format(double? value, string format) =>
        value?.ToString(format, CultureInfo.InvariantCulture) ?? "-";

    private static string Join(IReadOnlyList<double>? values) =>
        values is null ? "-" : string.Join(" / ", values.Select(v => v.ToString("F1", CultureInfo.InvariantCulture)));

    private sealed class ServerFigures(string name, int pid)
    {
        public List<TransferResult> Uploads { get; } = [];

        public List<TransferResult> Downloads { get; } = [];

        public double IdleRssMb { get; set; }

        public double MaxRssMb { get; set; }

        public int RssSamples { get; set; }

        public LayerServerSummary Summarise() => new(
            name,
            pid,
            BenchRunner.Median(Uploads.Select(u => u.MegabytesPerSecond).ToList()),
            BenchRunner.Median(Downloads.Select(d => d.MegabytesPerSecond).ToList()),
            Uploads.Select(u => u.MegabytesPerSecond).ToList(),
            Downloads.Select(d => d.MegabytesPerSecond).ToList(),
            BenchRunner.Median(Uploads.Select(u => u.ServerCpuSecondsPerGib).ToList()),
            BenchRunner.Median(Downloads.Select(d => d.ServerCpuSecondsPerGib).ToList()),
            IdleRssMb,
            MaxRssMb,
            RssSamples);
    }
}

internal sealed record LayerReport(
    string Machine,
    int Cores,
    int SizeMib,
    int RssSizeMib,
    int Rounds,
    LayerServerSummary Baseline,
    LayerServerSummary? Registry,
    double? UploadRatio,
    double? DownloadRatio,
    LayerTargets Targets,
    LayerServerSummary? V2,
    double? V2UploadRatio,
    double? V2DownloadRatio,
    bool? TargetsMet);

internal sealed record LayerServerSummary(
    string Server,
    int Pid,
    double UploadMbPerSecond,
    double DownloadMbPerSecond,
    IReadOnlyList<double> UploadRoundsMbPerSecond,
    IReadOnlyList<double> DownloadRoundsMbPerSecond,
    double UploadServerCpuSecondsPerGib,
    double DownloadServerCpuSecondsPerGib,
    double IdleRssMb,
    double MaxRssMb,
    int RssSamples);

internal sealed record LayerTargets(double UploadRatioMin, double DownloadRatioMin, double RegistryMaxRssMb);
