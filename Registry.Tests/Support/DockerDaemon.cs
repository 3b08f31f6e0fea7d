using System.Diagnostics;
using NUnit.Framework;

namespace Registry.Tests.Support;

/// <summary>Exit code and output of one docker CLI run.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}{System.Environment.NewLine}stdout:{System.Environment.NewLine}{Stdout}stderr:{System.Environment.NewLine}{Stderr}";
}

/// <summary>
/// A private dockerd (Debian docker.io) confined to a temp folder: its own data-root, exec-root,
/// pidfile and unix socket, no bridge, no iptables, vfs storage. It starts its own containerd.
/// </summary>
/// <remarks>
/// Start it once per fixture: it takes about a second to start and to stop. The CLI runs with
/// DOCKER_CONFIG in the temp folder, so the user's ~/.docker is never read or written.
/// </remarks>
public sealed class DockerDaemon : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);
    public static readonly TimeSpan DefaultCliTimeout = TimeSpan.FromSeconds(60);

    // Variables that would point the CLI somewhere else than our socket or our config folder.
    private static readonly string[] CliVariablesToDrop =
        ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION", "DOCKER_TLS"];

    private readonly ProcessOutput _output = new();
    private Process? _process;
    private string _daemonJson = "{}";

    private DockerDaemon(string directory)
    {
        Directory = directory;
    }

    /// <summary>The temp folder holding everything the daemon writes.</summary>
    public string Directory { get; }

    public string SocketPath => Path.Combine(Directory, "docker.sock");

    /// <summary>Value for <c>docker -H</c>.</summary>
    public string Host => "unix://" + SocketPath;

    public string PidFile => Path.Combine(Directory, "d.pid");

    /// <summary>DOCKER_CONFIG of every CLI run.</summary>
    public string CliConfigDirectory => Path.Combine(Directory, "cli-config");

    public int Pid { get; private set; }

    public TimeSpan StartupTime { get; private set; }

    public TimeSpan? StopTime { get; private set; }

    /// <summary>dockerd's own log (it logs to stderr), plus harness notes.</summary>
    public string Output => _output.ToString();

    /// <summary>
    /// Starts dockerd and waits until <c>docker version</c> reaches it. When dockerd (or the docker
    /// CLI) is missing or the tests do not run as root, the calling test is ignored, or failed when
    /// the environment variable CI is "true" (CI's test command must install docker.io).
    /// </summary>
    public static Task<DockerDaemon> StartAsync(CancellationToken cancellationToken = default) => StartAsync("{}", cancellationToken);

    /// <summary>As <see cref="StartAsync(CancellationToken)"/>, with <paramref name="daemonJson"/> as dockerd's config file (e.g. <c>registry-mirrors</c>).</summary>
    public static async Task<DockerDaemon> StartAsync(string daemonJson, CancellationToken cancellationToken = default)
    {
        RequireAvailable();
        var daemon = new DockerDaemon(CreateShortTempDirectory()) { _daemonJson = daemonJson };
        try
        {
            await daemon.StartProcessAsync(cancellationToken);
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    /// <summary>Ignores (locally) or fails (CI=true) the current test when a private dockerd cannot be run here.</summary>
    public static void RequireAvailable()
    {
        string? problem = null;
        if (ChildProcess.FindOnPath("dockerd") is null)
        {
            problem = "dockerd is not installed";
        }
        else if (ChildProcess.FindOnPath("docker") is null)
        {
            problem = "the docker CLI is not installed";
        }
        else if (!Posix.IsRoot)
        {
            problem = "dockerd needs root and the tests do not run as root";
        }

        if (problem is null)
        {
            return;
        }

        ChildProcess.MissingDependency($"{problem}: the test command should have installed docker.io (scripts/provision-test-deps.sh, as root).");
    }

    public Task<CliResult> RunCliAsync(params string[] args) => RunCliAsync(args, DefaultCliTimeout, CancellationToken.None);

    /// <summary>Runs <c>docker -H unix://… args</c>; the CLI is killed if it outlives <paramref name="timeout"/>.</summary>
    public async Task<CliResult> RunCliAsync(IReadOnlyList<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("docker")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            ArgumentList = { "-H", Host },
        };
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        foreach (var name in CliVariablesToDrop)
        {
            startInfo.Environment.Remove(name);
        }

        startInfo.Environment["DOCKER_CONFIG"] = CliConfigDirectory;
        startInfo.Environment["DOCKER_CLI_HINTS"] = "false";

        using var cli = Process.Start(startInfo) ?? throw new InvalidOperationException("Process.Start returned null");
        cli.StandardInput.Close();
        var stdout = cli.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = cli.StandardError.ReadToEndAsync(cancellationToken);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await cli.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            cli.Kill();
            throw new TimeoutException($"docker {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s");
        }

        return new CliResult(cli.ExitCode, await stdout, await stderr);
    }

    /// <summary>SIGTERM to the PID in the pidfile, bounded wait, then SIGKILL; also waits for its containerd to go.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_process is null)
        {
            return;
        }

        var process = _process;
        var stopwatch = Stopwatch.StartNew();
        // Whoever the pidfile names, only our own child is ever signalled.
        var pid = ReadPidFile() is { } fromFile && fromFile == process.Id ? fromFile : process.Id;
        var children = Posix.ChildrenOf(pid);
        if (!process.HasExited)
        {
            _output.Note($"SIGTERM {pid}");
            Posix.Signal(pid, Posix.SigTerm);
            if (!await RegistryProcess.WaitForExitAsync(process, StopTimeout, cancellationToken))
            {
                _output.Note($"no exit after SIGTERM; SIGKILL {pid}");
                Posix.Signal(pid, Posix.SigKill);
                await RegistryProcess.WaitForExitAsync(process, StopTimeout, cancellationToken);
            }
        }

        await StopOrphansAsync(children, cancellationToken);
        await UnmountLeftoversAsync();
        StopTime = stopwatch.Elapsed;
        _output.Note($"stopped in {StopTime.Value.TotalMilliseconds:F0} ms");
        process.Dispose();
        _process = null;
    }

    /// <summary>
    /// A container run with <c>--network host</c> leaves dockerd's bind mount of the host's network namespace
    /// (<c>exec/netns/default</c>) behind after dockerd exits; the folder cannot be deleted until it is unmounted.
    /// </summary>
    private async Task UnmountLeftoversAsync()
    {
        var prefix = Directory + "/";
        var mounts = File.ReadLines("/proc/self/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        foreach (var mount in mounts.OrderByDescending(m => m.Length))
        {
            var info = new ProcessStartInfo("umount") { ArgumentList = { mount }, RedirectStandardOutput = true, RedirectStandardError = true };
            try
            {
                await ChildProcess.RunToEndAsync(info, StopTimeout);
            }
            catch (InvalidOperationException e)
            {
                _output.Note($"could not unmount {mount}: {e.Message}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await RegistryProcess.ShowOnFailureAsync($"dockerd output ({Directory})", Output);

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await TestContext.Progress.WriteLineAsync($"could not delete {Directory}: {e.Message}");
        }
    }

    // dockerd stops its containerd itself; this covers a dockerd that had to be killed. A child is
    // only signalled while its start time still matches, so a recycled PID is never hit.
    private async Task StopOrphansAsync(IReadOnlyList<(int Pid, long StartTicks)> children, CancellationToken cancellationToken)
    {
        bool IsAlive((int Pid, long StartTicks) child) => Posix.ReadProcStat(child.Pid) is { } stat && stat.StartTicks == child.StartTicks;

        var stopwatch = Stopwatch.StartNew();
        while (children.Any(IsAlive) && stopwatch.Elapsed < StopTimeout)
        {
            await Task.Delay(50, cancellationToken);
        }

        foreach (var child in children.Where(IsAlive))
        {
            _output.Note($"child {child.Pid} outlived dockerd; SIGKILL");
            Posix.Signal(child.Pid, Posix.SigKill);
        }
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        await File.WriteAllTextAsync(Path.Combine(Directory, "daemon.json"), _daemonJson, cancellationToken);
        System.IO.Directory.CreateDirectory(CliConfigDirectory);
        var startInfo = new ProcessStartInfo("dockerd")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
                "--userland-proxy=false", "--storage-driver=vfs",
                "--data-root", Path.Combine(Directory, "data"),
                "--exec-root", Path.Combine(Directory, "exec"),
                "--pidfile", PidFile,
                "-H", Host,
                "--config-file", Path.Combine(Directory, "daemon.json"),
            },
        };
        var stopwatch = Stopwatch.StartNew();
        _output.Note($"start dockerd {string.Join(' ', startInfo.ArgumentList)}");
        _process = Process.Start(startInfo) ?? throw new InvalidOperationException("Process.Start returned null");
        Pid = _process.Id;
        _output.Attach(_process, $"dockerd[{Pid}]");

        while (true)
        {
            if (_process.HasExited)
            {
                await RegistryProcess.WaitForExitAsync(_process, TimeSpan.FromSeconds(1), cancellationToken);
                throw new InvalidOperationException($"dockerd exited with code {_process.ExitCode} during start-up.{System.Environment.NewLine}{Output}");
            }

            if (File.Exists(SocketPath))
            {
                var version = await RunCliAsync(["version"], TimeSpan.FromSeconds(10), cancellationToken);
                if (version.ExitCode == 0)
                {
                    break;
                }
            }

            if (stopwatch.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"dockerd did not answer `docker version` within {StartTimeout.TotalSeconds} s.{System.Environment.NewLine}{Output}");
            }

            await Task.Delay(50, cancellationToken);
        }

        StartupTime = stopwatch.Elapsed;
        _output.Note($"started in {StartupTime.TotalMilliseconds:F0} ms");
        if (ReadPidFile() != Pid)
        {
            throw new InvalidOperationException($"{PidFile} does not hold the PID started ({Pid}).");
        }
    }

    private int? ReadPidFile() =>
        File.Exists(PidFile) && int.TryParse(File.ReadAllText(PidFile).Trim(), out var pid) ? pid : null;

    // Unix socket paths are limited to 108 bytes, and containerd nests its own sockets under
    // exec-root: keep the folder short (/tmp/dockerd-XXXXXX) even under a long TMPDIR.
    private static string CreateShortTempDirectory()
    {
        if (Path.GetTempPath().Length <= 40)
        {
            return System.IO.Directory.CreateTempSubdirectory("dockerd-").FullName;
        }

        var path = Path.Combine("/tmp", "dockerd-" + Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal));
        System.IO.Directory.CreateDirectory(path);
        return path;
    }
}
