using System.Diagnostics;
using System.Net;

namespace Registry.Bench.Http;

/// <summary>A named GET path driven by the load generator.</summary>
internal sealed record LoadShape(string Name, string Path);

/// <summary>Latency figures of one shape (successful requests only).</summary>
internal sealed record ShapeFigures(string Shape, string Path, long Requests, double RequestsPerSecond, double P50Ms, double P99Ms);

/// <summary>The outcome of one timed load phase against one server.</summary>
internal sealed record LoadResult(
    long Requests,
    long Errors,
    string? FirstError,
    double Seconds,
    double RequestsPerSecond,
    double P50Ms,
    double P99Ms,
    IReadOnlyList<ShapeFigures> Shapes);

/// <summary>
/// Closed-loop HTTP load: one HttpClient whose pool allows as many connections as there are
/// worker loops, each loop sending the next request as soon as the previous body is read. Bounded
/// by time (and each request by the client's timeout), so it always stops by itself.
/// </summary>
internal static class LoadGenerator
{
    private const int DrainBufferSize = 16 * 1024;

    public static HttpClient NewClient(ChildServer server, int connections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = connections,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    })
    {
        BaseAddress = server.BaseAddress,
        Timeout = TimeSpan.FromSeconds(10),
    };

    public static async Task<LoadResult> RunAsync(
        HttpClient client, IReadOnlyList<LoadShape> shapes, int workers, TimeSpan duration, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var loops = Enumerable.Range(0, workers)
            .Select(worker => Task.Run(() => WorkerAsync(client, shapes, worker, deadline, cancellationToken), cancellationToken))
            .ToArray();
        var results = await Task.WhenAll(loops);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

        var perShape = shapes
            .Select((shape, index) => (shape, latencies: results.SelectMany(r => r.Latencies[index]).Order().ToArray()))
            .ToList();
        var all = perShape.SelectMany(s => s.latencies).Order().ToArray();
        var errors = results.Sum(r => r.Errors);
        return new LoadResult(
            all.Length,
            errors,
            results.Select(r => r.FirstError).FirstOrDefault(e => e is not null),
            seconds,
            all.Length / seconds,
            PercentileMs(all, 0.50),
            PercentileMs(all, 0.99),
            perShape.Select(s => new ShapeFigures(
                s.shape.Name,
                s.shape.Path,
                s.latencies.Length,
                s.latencies.Length / seconds,
                PercentileMs(s.latencies, 0.50),
                PercentileMs(s.latencies, 0.99))).ToList());
    }

    /// <summary>Nearest-rank percentile of sorted Stopwatch tick counts, in milliseconds.</summary>
    private static double PercentileMs(long[] sortedTicks, double quantile)
    {
        if (sortedTicks.Length == 0)
        {
            return double.NaN;
        }

        var rank = Math.Max(1, (int)Math.Ceiling(quantile * sortedTicks.Length));
        return sortedTicks[rank - 1] * 1000.0 / Stopwatch.Frequency;
    }

    private static async Task<WorkerResult> WorkerAsync(
        HttpClient client, IReadOnlyList<LoadShape> shapes, int worker, long deadline, CancellationToken cancellationToken)
    {
        var latencies = shapes.Select(_ => new List<long>()).ToArray();
        var buffer = new byte[DrainBufferSize];
        long errors = 0;
        string? firstError = null;
        // Workers start on different shapes so that every shape is in flight at any moment.
        for (var next = worker; Stopwatch.GetTimestamp() < deadline; next++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var shape = next % shapes.Count;
            var start = Stopwatch.GetTimestamp();
            try
            {
                using var response = await client.GetAsync(shapes[shape].Path, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                while (await body.ReadAsync(buffer, cancellationToken) > 0)
                {
                }

                if (response.StatusCode == HttpStatusCode.OK)
                {
                    latencies[shape].Add(Stopwatch.GetTimestamp() - start);
                }
                else
                {
                    errors++;
                    firstError ??= $"GET {shapes[shape].Path} answered {(int)response.StatusCode}";
                }
            }
            catch (HttpRequestException e)
            {
                errors++;
                firstError ??= $"GET {shapes[shape].Path} failed: {e.Message}";
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                errors++;
                firstError ??= $"GET {shapes[shape].Path} timed out after {client.Timeout.TotalSeconds} s";
            }
        }

        return new WorkerResult(latencies, errors, firstError);
    }

    private sealed record WorkerResult(List<long>[] Latencies, long Errors, string? FirstError);
}
