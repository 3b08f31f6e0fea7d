using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;

namespace Registry.Tests.Support;

/// <summary>
/// A real Redis server for the tests (Debian's <c>redis-server</c> package): started as a child process on
/// 127.0.0.1 with a random port, no persistence (<c>--save '' --appendonly no</c>) and its working folder and log
/// in a temp folder; stopped by PID. One server serves the whole test run (<see cref="SharedAsync"/>);
/// <see cref="RedisServerRun"/> stops it at the end. Tests sharing it keep apart by a logical database
/// (<see cref="NewDatabaseAsync"/>) or a key prefix (<see cref="NewKeyPrefix"/>) of their own; a test that stops and
/// restarts the server takes one of its own (<see cref="StartDedicatedAsync"/>).
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    /// <summary>Logical databases the server has; 0 is left to tests that keep apart by key prefix.</summary>
    public const int Databases = 1024;

    private const int SigCont = 18;
    private const int SigStop = 19;

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);
    private static readonly SharedServer<RedisServer> Shared = new("Redis");

    private readonly string _executable;
    private ProcessOutput _output = new();
    private Process? _process;
    private int _lastDatabase;

    private RedisServer(string executable, string directory)
    {
        _executable = executable;
        Directory = directory;
    }

    /// <summary>The temp folder with redis.log (and the server's working directory).</summary>
    public string Directory { get; }

    public int Port { get; private set; }

    /// <summary>host:port, as a StackExchange.Redis configuration string or the registry's cache.host/port take it.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>True while the server process is running (between start and <see cref="StopAsync"/>).</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// The run's shared server, started by the first caller. Ignores the test (locally) or fails it (CI=true)
    /// when redis-server is not installed: the test command installs it (scripts/provision-test-deps.sh).
    /// </summary>
    public static Task<RedisServer> SharedAsync()
    {
        var executable = RequireAvailable();
        return Shared.GetAsync(() => StartAsync(executable));
    }

    /// <summary>Stops the shared server if one was started.</summary>
    public static Task StopSharedAsync() => Shared.StopAsync();

    /// <summary>
    /// A server of the caller's own, which it disposes: for a test that stops and restarts it
    /// (<see cref="StopAsync"/>, <see cref="RestartAsync"/>) without taking the shared one from other tests.
    /// </summary>
    public static Task<RedisServer> StartDedicatedAsync() => StartAsync(RequireAvailable());

    /// <summary>
    /// The path of redis-server. Ignores (locally) or fails (CI=true) the current test when it is not installed.
    /// </summary>
    public static string RequireAvailable()
    {
        var executable = ChildProcess.FindOnPath("redis-server", "/usr/bin");
        if (executable is not null) return executable;
        ChildProcess.MissingDependency("redis-server is not installed: the test command should have installed the 'redis-server' package " +
                                       "(scripts/provision-test-deps.sh, as root).");
        return "";
    }

    /// <summary>A key prefix no other test uses, for tests that share database 0.</summary>
    public static string NewKeyPrefix(string purpose) => $"test:{purpose}:{Guid.NewGuid():N}:";

    /// <summary>
    /// A logical database number (1 to <see cref="Databases"/> - 1) no other test of this server got; emptied
    /// first, in case a previous run of the same server left keys.
    /// </summary>
    public async Task<int> NewDatabaseAsync()
    {
        var database = Interlocked.Increment(ref _lastDatabase);
        if (database >= Databases)
            throw new InvalidOperationException($"all {Databases - 1} logical databases of the Redis server on port {Port} are taken; use NewKeyPrefix");
        await CommandAsync("SELECT", database.ToString(CultureInfo.InvariantCulture), "FLUSHDB");
        return database;
    }

    /// <summary>
    /// Sends one command (or, when <paramref name="args"/> contains <c>SELECT n</c> first, that and the next) over
    /// a fresh connection and returns the last reply as text: the value of a status, integer or bulk reply ("" for
    /// nil), the elements of an array one per line. An error reply throws.
    /// </summary>
    /// <remarks>For test set-up and checks that should not depend on the client library the product uses.</remarks>
    public async Task<string> CommandAsync(params string[] args)
    {
        var commands = args.Length > 2 && args[0] == "SELECT" ? new[] { args[..2], args[2..] } : new[] { args };
        using var client = new TcpClient();
        using var cts = new CancellationTokenSource(ReadyTimeout);
        await client.ConnectAsync("127.0.0.1", Port, cts.Token);
        var stream = client.GetStream();
        var reader = new RespReader(stream);
        var reply = "";
        foreach (var command in commands)
        {
            var request = new StringBuilder().Append('*').Append(command.Length).Append("\r\n");
            foreach (var arg in command) request.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cts.Token);
            reply = await reader.ReadReplyAsync(cts.Token);
        }
        return reply;
    }

    /// <summary>
    /// Freezes the server (SIGSTOP): connections stay open and keys stay, but nothing is answered, as with a server
    /// that is unreachable for a while. <see cref="Resume"/> continues it.
    /// </summary>
    public void Pause() => Posix.Signal((_process ?? throw new InvalidOperationException("the Redis server is not running")).Id, SigStop);

    /// <summary>Continues a server frozen by <see cref="Pause"/>, with the keys it had.</summary>
    public void Resume() => Posix.Signal((_process ?? throw new InvalidOperationException("the Redis server is not running")).Id, SigCont);

    /// <summary>Stops the server by PID (SIGTERM; nothing to save); the temp folder stays for <see cref="RestartAsync"/>.</summary>
    public async Task StopAsync()
    {
        var process = _process ?? throw new InvalidOperationException("the Redis server is not running");
        _process = null;
        await StopProcessAsync(process);
    }

    /// <summary>Starts the server stopped by <see cref="StopAsync"/> again, on the same port, empty.</summary>
    public Task RestartAsync() => StartOnPortAsync();

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            await StopProcessAsync(process);
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // The temp folder is the OS's to clean then.
        }
    }

    /// <summary>What the server logged, and wrote to stdout/stderr, so far: for failure messages.</summary>
    public string Log()
    {
        var log = Path.Combine(Directory, "redis.log");
        return (File.Exists(log) ? File.ReadAllText(log) : "") + _output;
    }

    private static async Task<RedisServer> StartAsync(string executable)
    {
        var server = new RedisServer(executable, System.IO.Directory.CreateTempSubdirectory("redis-").FullName);
        // The port is free when picked, not necessarily when bound: retry with another.
        for (var attempt = 1; ; attempt++)
        {
            server.Port = FreePort.Next();
            try
            {
                await server.StartOnPortAsync();
                return server;
            }
            catch (InvalidOperationException e) when (attempt < 3)
            {
                await TestContext.Progress.WriteLineAsync($"Redis did not start on port {server.Port}; retrying on another: {e.Message}");
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    private async Task StartOnPortAsync()
    {
        if (_process is not null) throw new InvalidOperationException("the Redis server is already running");
        _output = new ProcessOutput();
        var info = new ProcessStartInfo(_executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory,
        };
        foreach (var arg in new[]
                 {
                     "--bind", "127.0.0.1", "--port", Port.ToString(CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no",
                     "--dir", Directory, "--logfile", Path.Combine(Directory, "redis.log"), "--daemonize", "no",
                     "--databases", Databases.ToString(CultureInfo.InvariantCulture),
                 })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {_executable}");
        _output.Attach(process, "redis");
        _process = process;
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                _process = null;
                throw new InvalidOperationException($"redis-server exited with {process.ExitCode} on port {Port}:{Environment.NewLine}{Log()}");
            }
            try
            {
                if (await CommandAsync("PING") == "PONG") return;
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                // Not listening yet.
            }
            if (stopwatch.Elapsed > ReadyTimeout)
            {
                _process = null;
                await StopProcessAsync(process);
                throw new TimeoutException($"redis-server did not answer PING on port {Port} within {ReadyTimeout.TotalSeconds} s:{Environment.NewLine}{Log()}");
            }
            await Task.Delay(20);
        }
    }

    private static async Task StopProcessAsync(Process process)
    {
        using (process)
        {
            if (process.HasExited) return;
            // A paused server would not act on SIGTERM.
            Posix.Signal(process.Id, SigCont);
            await ChildProcess.TerminateAsync(process, StopTimeout);
        }
    }

    /// <summary>Reads one RESP2 reply (Redis serialization protocol) from the stream.</summary>
    private sealed class RespReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start;
        private int _end;

        public async Task<string> ReadReplyAsync(CancellationToken ct)
        {
            var line = await ReadLineAsync(ct);
            var body = line[1..];
            switch (line[0])
            {
                case '+':
                case ':':
                    return body;
                case '-':
                    throw new InvalidOperationException($"Redis error: {body}");
                case '$':
                    var length = int.Parse(body, CultureInfo.InvariantCulture);
                    if (length < 0) return "";
                    var value = await ReadBytesAsync(length + 2, ct);
                    return Encoding.UTF8.GetString(value, 0, length);
                case '*':
                    var count = int.Parse(body, CultureInfo.InvariantCulture);
                    var items = new List<string>();
                    for (var i = 0; i < count; i++) items.Add(await ReadReplyAsync(ct));
                    return string.Join('\n', items);
                default:
                    throw new InvalidOperationException($"unexpected Redis reply: {line}");
            }
        }

        private async Task<string> ReadLineAsync(CancellationToken ct)
        {
            var line = new List<byte>();
            while (true)
            {
                var b = await ReadByteAsync(ct);
                if (b == '\n' && line.Count > 0 && line[^1] == '\r')
                {
                    line.RemoveAt(line.Count - 1);
                    return Encoding.UTF8.GetString(line.ToArray());
                }
                line.Add(b);
            }
        }

        private async Task<byte[]> ReadBytesAsync(int count, CancellationToken ct)
        {
            var bytes = new byte[count];
            for (var i = 0; i < count; i++) bytes[i] = await ReadByteAsync(ct);
            return bytes;
        }

        private async ValueTask<byte> ReadByteAsync(CancellationToken ct)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = await stream.ReadAsync(_buffer, ct);
                if (_end == 0) throw new IOException("Redis closed the connection");
            }
            return _buffer[_start++];
        }
    }
}
