using System.Runtime.InteropServices;
using System.Text.Json;

namespace Registry.Bench.Http;

/// <summary>
/// What every HTTP benchmark shares: a temp directory deleted afterwards, SIGINT and SIGTERM
/// turned into cancellation (so that the child servers are still killed), and failures reported
/// as one clear line with a distinct exit code: 1 bad command line, 2 a server under test not
/// functional, 130 interrupted.
/// </summary>
internal static class BenchRunner
{
    private static readonly JsonSerializerOptions ReportJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        // A phase with no successful request has NaN percentiles; the report must still be written.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The 1-, 5- and 15-minute load averages, as printed next to figures measured on a shared machine.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    public static string MachineNote =>
        $"{Environment.ProcessorCount} cores, shared by the load generator (this process) and the server under test; " +
        "absolute figures are lower bounds, the ratios to the baseline measured in the same run are what count";

    public static async Task<int> RunAsync(string command, Func<string, CancellationToken, Task> body)
    {
        using var cancellation = new CancellationTokenSource();
        // SIGTERM too (a build script's timeout), not only Ctrl+C: either way the child servers
        // must be killed and the temp directory removed, which the default handling would skip.
        Action<PosixSignalContext> onSignal = context =>
        {
            context.Cancel = true;
            cancellation.Cancel();
        };
        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, onSignal);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, onSignal);
        var temp = Directory.CreateTempSubdirectory("registry-bench-");
        try
        {
            await body(temp.FullName, cancellation.Token);
            return 0;
        }
        catch (BenchUsageException e)
        {
            Console.Error.WriteLine($"{command}: {e.Message}");
            return 1;
        }
        catch (ServerNotFunctionalException e)
        {
            Console.Error.WriteLine($"{command}: FAILED: {e.Message}");
            return 2;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            Console.Error.WriteLine($"{command}: interrupted");
            return 130;
        }
        finally
        {
            try
            {
                temp.Delete(recursive: true);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"warning: could not delete {temp.FullName}: {e.Message}");
            }
        }
    }

    public static async Task WriteReportAsync(string? path, object report, CancellationToken cancellationToken)
    {
        if (path is null)
        {
            return;
        }

        var fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        await using var file = File.Create(fullPath);
        await JsonSerializer.SerializeAsync(file, report, report.GetType(), ReportJson, cancellationToken);
        Console.WriteLine($"figures written to {fullPath}");
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    public static string Verdict(bool met) => met ? "ok" : "MISSED";
}
