using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace Registry.Tests.Support;

/// <summary>
/// The real registry server (Registry.V1.dll) as a child process on 127.0.0.1, with its storage and
/// search database in a temp folder of its own.
/// </summary>
/// <remarks>
/// Unlike WebApplicationFactory this exercises the real host: configuration from the environment,
/// Kestrel, process start-up and shutdown, and the data left on disk by a crash. It only ever signals
/// the PID it started.
/// </remarks>
public sealed class RegistryProcess : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    // Variables the server reads (config flavor and file, the listen address, and every `_env:`
    // variable of the sample config): inherited values would leak a developer's setup into the test.
    private static readonly Lazy<IReadOnlyList<string>> InheritedVariablesToDrop = new(() =>
    {
        string[] host =
        [
            "SETTINGS_FLAVOR", "DOCKER_REGISTRY_CONFIG", "REGISTRY_HOST", "REGISTRY_PORT",
            "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS",
            "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT",
        ];
        var sample = Path.Combine(ServerDirectory, "config_sample.yml");
        var fromConfig = File.Exists(sample)
            ? Regex.Matches(File.ReadAllText(sample), "_env:([A-Za-z0-9_]+)").Select(m => m.Groups[1].Value)
            : [];
        return host.Concat(fromConfig).Distinct().ToList();
    });

    private readonly Dictionary<string, string?> _environment;
    private readonly ProcessOutput _output = new();
    private Process? _process;
    private HttpClient? _client;
    private int _lastPid;

    private RegistryProcess(string rootDirectory, Dictionary<string, string?> environment)
    {
        RootDirectory = rootDirectory;
        _environment = environment;
    }

    /// <summary>Temp folder owned by this instance; storage and the search database live under it.</summary>
    public string RootDirectory { get; }

    /// <summary>Default STORAGE_PATH (used unless the caller's environment overrides it).</summary>
    public string StoragePath => Path.Combine(RootDirectory, "storage");

    /// <summary>Default search database file (SQLALCHEMY_INDEX_DATABASE points here unless overridden).</summary>
    public string SearchDatabasePath => Path.Combine(RootDirectory, "search.db");

    public int Port { get; private set; }

    public Uri BaseAddress => new($"{Scheme}://127.0.0.1:{Port}/");

    /// <summary>https when the environment gives the server a TLS certificate (REGISTRY_TLS_CERTIFICATE).</summary>
    public string Scheme => _environment.GetValueOrDefault("REGISTRY_TLS_CERTIFICATE") is { Length: > 0 } ? "https" : "http";

    /// <summary>"127.0.0.1:PORT", the registry host as docker clients spell it in image names.</summary>
    public string HostAndPort => $"127.0.0.1:{Port}";

    public int Pid => _process?.Id ?? throw new InvalidOperationException("The registry process is not running.");

    public bool HasExited => _process is null || _process.HasExited;

    /// <summary>A client for BaseAddress; replaced on restart (pooled connections die with the old process).</summary>
    public HttpClient Client => _client ?? throw new InvalidOperationException("The registry process is not running.");

    /// <summary>The environment given to the server, after defaults; null values are removed variables.</summary>
    public IReadOnlyDictionary<string, string?> Environment => _environment;

    /// <summary>Everything the server printed (all runs of this instance), plus harness notes.</summary>
    public string Output => _output.ToString();

    /// <summary>
    /// Whether the server prints <paramref name="text"/> within <paramref name="timeout"/>: a line logged after the
    /// answer (a client cut off mid-body sees the reset before the server's log line is written) is waited for.
    /// </summary>
    public async Task<bool> PrintsAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow >= deadline) return false;
            await Task.Delay(50);
        }
        return true;
    }

    /// <summary>
    /// Starts the server and waits until <c>GET /v1/_ping</c> answers. Defaults: SETTINGS_FLAVOR=dev,
    /// DOCKER_REGISTRY_CONFIG=the config_sample.yml shipped next to the dll, STORAGE_PATH and
    /// SQLALCHEMY_INDEX_DATABASE in a fresh temp folder. <paramref name="environment"/> overrides
    /// them; a null value removes the variable.
    /// </summary>
    public static Task<RegistryProcess> StartAsync(
        IReadOnlyDictionary<string, string?>? environment = null, CancellationToken cancellationToken = default) =>
        StartAsync(environment, port: null, cancellationToken);

    /// <summary>
    /// As <see cref="StartAsync(IReadOnlyDictionary{string, string?}?, CancellationToken)"/>, on a port chosen before
    /// (<see cref="FreePort.Next"/>) when another server must be told the address first (an index naming its registry).
    /// </summary>
    public static async Task<RegistryProcess> StartAsync(
        IReadOnlyDictionary<string, string?>? environment, int? port, CancellationToken cancellationToken = default)
    {
        var root = Directory.CreateTempSubdirectory("registry-e2e-").FullName;
        var env = new Dictionary<string, string?>
        {
            ["SETTINGS_FLAVOR"] = "dev",
            ["DOCKER_REGISTRY_CONFIG"] = Path.Combine(ServerDirectory, "config_sample.yml"),
            ["STORAGE_PATH"] = Path.Combine(root, "storage"),
            // sqlite:/// + an absolute path gives the four slashes the original's URL format wants.
            ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(root, "search.db"),
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            env[name] = value;
        }

        var registry = new RegistryProcess(root, env);
        try
        {
            if (port is { } fixedPort) await registry.StartAsync(fixedPort, cancellationToken);
            else await registry.StartOnFreePortAsync(cancellationToken);
            return registry;
        }
        catch
        {
            await registry.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILL, as a crash would: no shutdown code runs. Returns once the process is gone.</summary>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        if (_process is { HasExited: false } process)
        {
            _output.Note($"SIGKILL {process.Id}");
            Posix.Signal(process.Id, Posix.SigKill);
            await WaitForExitAsync(process, StopTimeout, cancellationToken);
        }

        ReleaseProcess();
    }

    /// <summary>SIGTERM (graceful shutdown), then SIGKILL if it has not exited within <paramref name="timeout"/> (default 10 s).</summary>
    public async Task StopAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (_process is { HasExited: false } process)
        {
            _output.Note($"SIGTERM {process.Id}");
            Posix.Signal(process.Id, Posix.SigTerm);
            if (!await WaitForExitAsync(process, timeout ?? StopTimeout, cancellationToken))
            {
                _output.Note($"no exit after SIGTERM; SIGKILL {process.Id}");
                Posix.Signal(process.Id, Posix.SigKill);
                await WaitForExitAsync(process, StopTimeout, cancellationToken);
            }
        }

        ReleaseProcess();
    }

    /// <summary>Stops the server if it runs (gracefully) and starts it again on the same port, storage and environment.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync(cancellationToken: cancellationToken);
        await StartAsync(Port, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await ShowOnFailureAsync($"registry output (last pid {_lastPid}, {BaseAddress})", Output);

        try
        {
            Directory.Delete(RootDirectory, recursive: true);
        }
        catch (IOException e)
        {
            await TestContext.Progress.WriteLineAsync($"could not delete {RootDirectory}: {e.Message}");
        }
    }

    /// <summary>
    /// Runs the server binary once with <paramref name="args"/> (a CLI verb, or serving that must fail at
    /// start-up) in a clean environment plus <paramref name="environment"/>; bounded to one minute.
    /// </summary>
    public static async Task<CliResult> RunOnceAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var startInfo = new ProcessStartInfo(DotnetHost)
        {
            WorkingDirectory = ServerDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add(ServerDll);
        foreach (var arg in args) startInfo.ArgumentList.Add(arg);
        foreach (var name in InheritedVariablesToDrop.Value) startInfo.Environment.Remove(name);
        foreach (var (name, value) in environment)
        {
            if (value is null) startInfo.Environment.Remove(name);
            else startInfo.Environment[name] = value;
        }
        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!await WaitForExitAsync(process, TimeSpan.FromMinutes(1), CancellationToken.None))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"registry {string.Join(' ', args)} did not exit within a minute");
        }
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    // The tests' own certificates are self-signed: trust whatever the server presents.
    private static HttpClientHandler TestHandler() => new() { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };

    private static string ServerDirectory => Path.GetDirectoryName(ServerDll)!;

    // The test project references Registry.V1, so the build copies its dll, deps.json and
    // runtimeconfig.json into the test output folder; `dotnet Registry.V1.dll` runs it from there.
    private static string ServerDll
    {
        get
        {
            var dll = typeof(Program).Assembly.Location;
            var runtimeConfig = Path.ChangeExtension(dll, ".runtimeconfig.json");
            return File.Exists(runtimeConfig)
                ? dll
                : throw new InvalidOperationException($"{runtimeConfig} is missing: Registry.V1 must be built as an executable next to the tests.");
        }
    }

    internal static string DotnetHost
    {
        get
        {
            // Set by `dotnet test`/MSBuild to the muxer running the build; the testhost usually runs under it too.
            var fromSdk = System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
            {
                return fromSdk;
            }

            var current = System.Environment.ProcessPath;
            return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
        }
    }

    private async Task StartOnFreePortAsync(CancellationToken cancellationToken)
    {
        // FreePort can race with another process; a bind failure is the only reason to try another port.
        const int attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartAsync(FreePort.Next(), cancellationToken);
                return;
            }
            catch (PortInUseException) when (attempt < attempts)
            {
                _output.Note("port taken before the server bound it; trying another");
            }
        }
    }

    private async Task StartAsync(int port, CancellationToken cancellationToken)
    {
        Port = port;
        var startInfo = new ProcessStartInfo(DotnetHost)
        {
            ArgumentList = { ServerDll, "--urls", $"{Scheme}://127.0.0.1:{port}" },
            WorkingDirectory = ServerDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        foreach (var name in InheritedVariablesToDrop.Value)
        {
            startInfo.Environment.Remove(name);
        }

        // A server that honours REGISTRY_HOST/REGISTRY_PORT (docs/configuration.md, 'Settings') must agree with --urls.
        startInfo.Environment["REGISTRY_HOST"] = "127.0.0.1";
        startInfo.Environment["REGISTRY_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (name, value) in _environment)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }

        _output.Note($"start {startInfo.FileName} {string.Join(' ', startInfo.ArgumentList)}");
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Process.Start returned null");
        _process = process;
        _lastPid = process.Id;
        _output.Attach(process, $"registry[{process.Id}]");
        _client = new HttpClient(TestHandler()) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        _client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        var stopwatch = Stopwatch.StartNew();
        using var probe = new HttpClient(TestHandler()) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                await WaitForExitAsync(process, TimeSpan.FromSeconds(1), cancellationToken);
                var exitCode = process.ExitCode;
                ReleaseProcess();
                var output = Output;
                if (output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    throw new PortInUseException();
                }

                throw new InvalidOperationException(
                    $"The registry exited with code {exitCode} before answering /v1/_ping.{System.Environment.NewLine}{output}");
            }

            try
            {
                using var response = await probe.GetAsync("v1/_ping", cancellationToken);
                _output.Note($"/v1/_ping answered {(int)response.StatusCode} after {stopwatch.ElapsedMilliseconds} ms");
                return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The probe's own timeout: the server is up but slow; keep waiting within the bound.
            }

            if (stopwatch.Elapsed > StartTimeout)
            {
                await KillAsync(cancellationToken);
                throw new TimeoutException(
                    $"The registry did not answer /v1/_ping within {StartTimeout.TotalSeconds} s.{System.Environment.NewLine}{Output}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    private void ReleaseProcess()
    {
        _client?.Dispose();
        _client = null;
        _process?.Dispose();
        _process = null;
    }

    internal static async Task<bool> WaitForExitAsync(Process process, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Polls HasExited rather than WaitForExitAsync: the latter also waits for the redirected
        // streams to close, which a grandchild holding them open can delay indefinitely.
        var stopwatch = Stopwatch.StartNew();
        while (!process.HasExited)
        {
            if (stopwatch.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(20, cancellationToken);
        }

        return true;
    }

    /// <summary>
    /// Inside a test, writes to the test's output, which runners show when it fails (a failing
    /// assertion has not been recorded yet while `await using` disposes). At fixture level (one-time
    /// tear-down), writes to the console only when a test of the fixture failed.
    /// </summary>
    internal static async Task ShowOnFailureAsync(string title, string text)
    {
        var block = $"--- {title} ---{System.Environment.NewLine}{text}";
        if (TestContext.CurrentContext.Test.MethodName is not null)
        {
            await TestContext.Out.WriteLineAsync(block);
        }
        else if (TestContext.CurrentContext.Result.Outcome.Status is TestStatus.Failed)
        {
            await TestContext.Progress.WriteLineAsync(block);
        }
    }

    private sealed class PortInUseException : Exception;
}
