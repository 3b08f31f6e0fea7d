using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using FluentAssertions;
using Registry.Core.Distribution;

namespace Registry.Tests.Support;

/// <summary>
/// Debian's Go registry (<c>docker-registry</c>, distribution 2.8) on 127.0.0.1 and a free port, with its own
/// config, storage in a temp folder, its access log captured (<see cref="Requests"/>) and optional htpasswd (Basic)
/// or token auth. Stopped by its PID. The reference upstream for the pull-through cache tests.
/// </summary>
public sealed partial class GoRegistry : IAsyncDisposable
{
    private readonly ProcessOutput _output = new();
    private readonly List<(string Method, string Path, int Status)> _requests = [];
    private readonly string _config;
    private Process? _process;

    private GoRegistry(string directory, int port, string config)
    {
        Directory = directory;
        Port = port;
        _config = config;
    }

    public string Directory { get; }
    public int Port { get; }
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");
    public string Url => $"http://127.0.0.1:{Port}";
    public string Output => _output.ToString();

    /// <summary>Every request of the access log so far: method, path (with query) and status.</summary>
    public IReadOnlyList<(string Method, string Path, int Status)> Requests
    {
        get { lock (_requests) return [.. _requests]; }
    }

    /// <summary>
    /// Starts the registry. <paramref name="basicUser"/> ("user:pass") turns on htpasswd auth (bcrypt cost 4, so a
    /// request does not cost 250 ms); <paramref name="authYaml"/> is an <c>auth:</c> section of its own (token auth);
    /// <paramref name="extraYaml"/> is appended to the config (e.g. a <c>notifications:</c> section).
    /// </summary>
    public static async Task<GoRegistry> StartAsync(string? basicUser = null, string? authYaml = null, string? extraYaml = null)
    {
        if (ChildProcess.FindOnPath("docker-registry") is null)
            ChildProcess.MissingDependency("docker-registry (Debian's Go registry 2.8) is not installed: scripts/provision-test-deps.sh installs it");
        var dir = System.IO.Directory.CreateTempSubdirectory("goreg-").FullName;
        var auth = authYaml ?? "";
        if (basicUser is not null)
        {
            var info = new ProcessStartInfo("/usr/bin/python3")
            {
                ArgumentList = { "-W", "ignore", "-c", "import crypt,sys; u,p=sys.argv[1].split(':',1)\nprint(u+':'+crypt.crypt(p, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))", basicUser },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            await File.WriteAllTextAsync(Path.Combine(dir, "htpasswd"), await ChildProcess.RunToEndAsync(info, TimeSpan.FromSeconds(30)));
            auth = $"auth: {{htpasswd: {{realm: test, path: {dir}/htpasswd}}}}";
        }
        var port = FreePort.Next();
        var config = Path.Combine(dir, "config.yml");
        await File.WriteAllTextAsync(config, string.Join('\n',
            "version: 0.1",
            "log: {level: info, accesslog: {disabled: false}}",
            $"storage: {{filesystem: {{rootdirectory: {dir}/storage}}, delete: {{enabled: true}}}}",
            $"http: {{addr: 127.0.0.1:{port}}}",
            auth,
            extraYaml ?? "",
            ""));
        var registry = new GoRegistry(dir, port, config);
        try
        {
            await registry.StartProcessAsync();
            return registry;
        }
        catch
        {
            await registry.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts it again (same port, storage and config) after <see cref="StopAsync"/>.</summary>
    public Task RestartAsync() => StartProcessAsync();

    private async Task StartProcessAsync()
    {
        var info = new ProcessStartInfo("docker-registry")
        {
            ArgumentList = { "serve", _config },
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start docker-registry");
        _process = process;
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"docker-registry exited with {process.ExitCode}:{Environment.NewLine}{Output}");
            try
            {
                using var response = await probe.GetAsync($"{Url}/v2/");
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                if (stopwatch.Elapsed > TimeSpan.FromSeconds(20)) throw new TimeoutException($"docker-registry did not answer within 20 s:{Environment.NewLine}{Output}");
            }
            await Task.Delay(50);
        }
    }

    private void Record(string? line)
    {
        if (line is null) return;
        _output.Note(line);
        var match = AccessLine().Match(line);
        if (!match.Success) return;
        lock (_requests) _requests.Add((match.Groups[1].Value, match.Groups[2].Value, int.Parse(match.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>How many times the access log shows <paramref name="method"/> on <paramref name="path"/>.</summary>
    public int Count(string method, string path) => Requests.Count(r => r.Method == method && r.Path == path);

    public async Task StopAsync()
    {
        if (_process is null) return;
        await ChildProcess.TerminateAsync(_process, TimeSpan.FromSeconds(10), _output);
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await RegistryProcess.ShowOnFailureAsync($"docker-registry output ({Directory})", Output);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS's temp cleaning.
        }
    }

    /// <summary>Pushes a blob (POST, then PUT with the digest) and returns its digest.</summary>
    public static async Task<Digest> PushBlobAsync(HttpClient client, string name, byte[] content)
    {
        var digest = Digest.Compute("sha256", content);
        using var start = await client.PostAsync($"/v2/{name}/blobs/uploads/", null);
        ((int)start.StatusCode).Should().Be(202, await start.Content.ReadAsStringAsync());
        var location = start.Headers.Location!.ToString();
        var url = location + (location.Contains('?') ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest.ToString());
        var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var put = await client.PutAsync(url, body);
        ((int)put.StatusCode).Should().Be(201, await put.Content.ReadAsStringAsync());
        return digest;
    }

    /// <summary>Pushes a config and layers, then a Docker schema 2 manifest of them under <paramref name="tag"/>.</summary>
    public static async Task<(SeededManifest Manifest, SeededBlob Config, SeededBlob[] Layers)> PushImageAsync(
        HttpClient client, string name, string tag, params byte[][] layers)
    {
        var configBytes = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[]}},\"n\":\"{Guid.NewGuid():N}\"}}");
        var config = new SeededBlob(await PushBlobAsync(client, name, configBytes), configBytes, V2Seed.DockerConfigType);
        var seeded = new List<SeededBlob>();
        foreach (var layer in layers) seeded.Add(new SeededBlob(await PushBlobAsync(client, name, layer), layer, V2Seed.DockerLayerType));
        var manifest = V2Seed.DockerManifest(config, [.. seeded]);
        await client.PushManifestAsync(name, tag, manifest);
        return (manifest, config, [.. seeded]);
    }

    [GeneratedRegex("\"(GET|HEAD|PUT|POST|PATCH|DELETE) (\\S+) HTTP/[0-9.]+\" (\\d{3}) ")]
    private static partial Regex AccessLine();
}
