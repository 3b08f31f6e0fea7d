using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Registry.Bench.Http;

/// <summary>
/// A server under test running in its own process on 127.0.0.1, so that its RSS and CPU time can
/// be read from /proc independently of the load generator. Only this process is ever killed, by
/// the PID we started.
/// </summary>
internal sealed class ChildServer : IAsyncDisposable
{
    private const int OutputTailLines = 40;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _outputTail = new();

    private ChildServer(string name, Process process, Uri baseAddress)
    {
        Name = name;
        _process = process;
        BaseAddress = baseAddress;
    }

    public string Name { get; }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

    /// <summary>The last lines the server wrote, for error messages.</summary>
    public string OutputTail => string.Join(Environment.NewLine, _outputTail);

    /// <summary>
    /// Starts <paramref name="fileName"/> with "--urls http://127.0.0.1:PORT" appended to
    /// <paramref name="arguments"/> and waits until <paramref name="readyPath"/> answers with any
    /// HTTP status (whether the answer is right is the benchmark's business, not the launcher's).
    /// </summary>
    public static Task<ChildServer> StartAsync(
        string name,
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string> environment,
        string workingDirectory,
        string readyPath,
        CancellationToken cancellationToken) =>
        StartAsync(
            name,
            fileName,
            baseAddress => [.. arguments, "--urls", baseAddress.ToString().TrimEnd('/')],
            environment,
            workingDirectory,
            readyPath,
            cancellationToken);

    /// <summary>
    /// Starts a server that is not told its address with --urls (a peer such as the Go registry reads it from a config
    /// file): <paramref name="argumentsFor"/> gets the chosen http://127.0.0.1:PORT/ before the process starts.
    /// </summary>
    public static async Task<ChildServer> StartAsync(
        string name,
        string fileName,
        Func<Uri, IEnumerable<string>> argumentsFor,
        IReadOnlyDictionary<string, string> environment,
        string workingDirectory,
        string readyPath,
        CancellationToken cancellationToken)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{FreeLoopbackPort()}/");
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in argumentsFor(baseAddress))
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var server = new ChildServer(name, process, baseAddress);
        process.OutputDataReceived += (_, e) => server.Remember(e.Data);
        process.ErrorDataReceived += (_, e) => server.Remember(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            await server.WaitUntilListeningAsync(readyPath, cancellationToken);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    public ProcessSample Sample() => ProcessSample.Read(_process.Id);

    /// <summary>
    /// Waits (at most 10 s) until the server burns under 2% of a core over a 250 ms window: after a
    /// warm-up the tiered JIT keeps recompiling hot methods in the background for a while, and that
    /// work must not land inside the first measurement. Returns how long it took.
    /// </summary>
    public async Task<TimeSpan> WaitUntilQuietAsync(CancellationToken cancellationToken)
    {
        var window = TimeSpan.FromMilliseconds(250);
        var started = Stopwatch.GetTimestamp();
        var before = Sample().CpuTime;
        for (var i = 0; i < 40; i++)
        {
            await Task.Delay(window, cancellationToken);
            var now = Sample().CpuTime;
            if (now - before < window * 0.02)
            {
                break;
            }

            before = now;
        }

        return Stopwatch.GetElapsedTime(started);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // The servers keep nothing worth a graceful shutdown: their data lives in a temp
            // directory that is deleted right after.
            _process.Kill(entireProcessTree: false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"warning: {Name} (pid {Pid}) did not exit within 10 s of SIGKILL");
            }
        }

        _process.Dispose();
    }

    internal static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        _outputTail.Enqueue(line);
        while (_outputTail.Count > OutputTailLines && _outputTail.TryDequeue(out _))
        {
        }
    }

    private async Task WaitUntilListeningAsync(string readyPath, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.GetTimestamp() + (long)(StartTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process.HasExited)
            {
                throw new ServerNotFunctionalException(
                    $"{Name} exited with code {_process.ExitCode} before listening on {BaseAddress}.{Environment.NewLine}{OutputTail}");
            }

            try
            {
                using var response = await client.GetAsync(readyPath, cancellationToken);
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100, cancellationToken);
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A first answer slower than the client's timeout (a starting server on a loaded machine): ask again
                // until the start deadline rather than give up on the whole benchmark.
            }
        }

        throw new ServerNotFunctionalException(
            $"{Name} (pid {Pid}) did not answer GET {readyPath} on {BaseAddress} within {StartTimeout.TotalSeconds} s.{Environment.NewLine}{OutputTail}");
    }
}

/// <summary>Resident set size and CPU time of a process, read from /proc/PID.</summary>
internal readonly record struct ProcessSample(long RssBytes, TimeSpan CpuTime)
{
    public static ProcessSample Read(int pid) => new(ReadRssBytes(pid), ReadCpuTime(pid));

    /// <summary>VmRSS of /proc/PID/status, in bytes; 0 once the process is gone.</summary>
    public static long ReadRssBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kib = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kib, System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    private static TimeSpan ReadCpuTime(int pid)
    {
        using var process = Process.GetProcessById(pid);
        return process.TotalProcessorTime;
    }
}

/// <summary>Samples a process's VmRSS every 100 ms in the background and keeps the maximum.</summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _maxBytes;
    private int _samples;

    public RssSampler(int pid)
    {
        _pid = pid;
        _loop = Task.Run(LoopAsync);
    }

    public long MaxBytes => Interlocked.Read(ref _maxBytes);

    public int Samples => Volatile.Read(ref _samples);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        TakeSample();
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        TakeSample();
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                TakeSample();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void TakeSample()
    {
        var rss = ProcessSample.ReadRssBytes(_pid);
        Interlocked.Increment(ref _samples);
        if (rss > Interlocked.Read(ref _maxBytes))
        {
            Interlocked.Exchange(ref _maxBytes, rss);
        }
    }
}
