using System.Diagnostics;
using System.Globalization;
using Amazon.S3;
using Amazon.S3.Model;
using NUnit.Framework;
using Registry.Core.Storage;

namespace Registry.Tests.Support;

/// <summary>
/// A real S3 implementation for the tests: Ceph's RADOS Gateway (Debian's radosgw, ceph-mon, ceph-osd) with one
/// monitor and one in-memory OSD, on 127.0.0.1 with random ports and everything in a temp folder, as in
/// shared/testing-services.md. Starts in about 2 s; one instance serves the whole test run
/// (<see cref="SharedAsync"/>), stopped by <see cref="CephRgwRun"/> at the end, by PID, RGW first, the mon last.
/// </summary>
public sealed class CephRgw : IAsyncDisposable
{
    public const string AccessKey = "ci-access-key";
    public const string SecretKey = "ci-secret-key";
    public const string Region = "us-east-1";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);
    private static readonly string[] Tools = ["radosgw", "ceph-mon", "ceph-osd", "monmaptool", "ceph", "radosgw-admin"];
    private static readonly SharedServer<CephRgw> Shared = new("Ceph RGW");

    private readonly ProcessOutput _output = new();
    private readonly List<Process> _daemons = [];

    private CephRgw(string directory) => Directory = directory;

    /// <summary>The temp folder with ceph.conf, the mon's data, sockets and logs.</summary>
    public string Directory { get; }

    public int Port { get; private set; }

    /// <summary><c>http://127.0.0.1:PORT</c>.</summary>
    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    public TimeSpan StartupTime { get; private set; }

    /// <summary>Daemon output and harness notes, to show when something fails.</summary>
    public string Output => _output.ToString();

    /// <summary>
    /// The run's shared gateway, started by the first caller. Ignores the test (locally) or fails it (CI=true)
    /// when the Ceph packages are missing: the test command installs them (scripts/provision-test-deps.sh).
    /// </summary>
    public static Task<CephRgw> SharedAsync()
    {
        RequireAvailable();
        return Shared.GetAsync(() => StartAsync());
    }

    /// <summary>Stops the shared gateway if one was started.</summary>
    public static Task StopSharedAsync() => Shared.StopAsync();

    /// <summary>Ignores (locally) or fails (CI=true) the current test when Ceph's daemons are not installed.</summary>
    public static void RequireAvailable()
    {
        var missing = Tools.Where(t => ChildProcess.FindOnPath(t) is null).ToList();
        if (missing.Count == 0) return;
        ChildProcess.MissingDependency($"{string.Join(", ", missing)} not installed: the test command should have installed radosgw ceph-mon ceph-osd " +
                                       "(scripts/provision-test-deps.sh, as root).");
    }

    /// <summary>Starts a gateway of its own (most tests want <see cref="SharedAsync"/>).</summary>
    public static async Task<CephRgw> StartAsync()
    {
        RequireAvailable();
        // Short: the daemons' admin sockets live below it and unix socket paths stop at 107 bytes.
        var rgw = new CephRgw(System.IO.Directory.CreateTempSubdirectory("rgw-").FullName);
        try
        {
            await rgw.StartDaemonsAsync();
            return rgw;
        }
        catch (Exception e)
        {
            var output = rgw.Output + ReadLogs(rgw.Directory);
            await rgw.DisposeAsync();
            throw new InvalidOperationException($"Ceph RGW did not start: {e.Message}{Environment.NewLine}{output}", e);
        }
    }

    /// <summary>A client with the settings RGW needs (path-style, checksums only when required).</summary>
    public AmazonS3Client CreateClient(string accessKey = AccessKey, string secretKey = SecretKey) =>
        S3StorageDriver.CreateClient(Options("unused", "", accessKey, secretKey));

    /// <summary>Driver options for a bucket and key prefix on this gateway.</summary>
    public S3StorageOptions Options(string bucket, string prefix, string accessKey = AccessKey, string secretKey = SecretKey) => new()
    {
        Bucket = bucket,
        Region = Region,
        AccessKey = accessKey,
        SecretKey = secretKey,
        Secure = false,
        Host = "127.0.0.1",
        Port = Port,
        Prefix = prefix,
    };

    /// <summary>Creates a bucket with a unique name (S3 names: lower case, digits, '-').</summary>
    public async Task<string> CreateBucketAsync(string purpose)
    {
        var name = $"{purpose}-{Guid.NewGuid():N}"[..Math.Min(purpose.Length + 33, 63)].ToLowerInvariant();
        using var client = CreateClient();
        await client.PutBucketAsync(new PutBucketRequest { BucketName = name });
        return name;
    }

    /// <summary>Every key of the bucket under <paramref name="prefix"/>, with the prefix cut off.</summary>
    public async Task<List<string>> KeysAsync(string bucket, string prefix) => [.. (await ObjectsAsync(bucket, prefix)).Keys];

    /// <summary>Every object of the bucket under <paramref name="prefix"/> (prefix cut off) with its size, in key order.</summary>
    public async Task<SortedDictionary<string, long>> ObjectsAsync(string bucket, string prefix)
    {
        using var client = CreateClient();
        var objects = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix };
        do
        {
            var page = await client.ListObjectsV2Async(request);
            foreach (var o in page.S3Objects ?? []) objects[o.Key[prefix.Length..]] = o.Size ?? 0;
            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);
        return objects;
    }

    /// <summary>The in-process test host's environment for <paramref name="flavor"/> on this gateway, plus <paramref name="extra"/> variables.</summary>
    public Dictionary<string, string> RegistryEnvironment(string flavor, string bucket, string storagePath, params (string Name, string Value)[] extra)
    {
        var env = new Dictionary<string, string> { ["SETTINGS_FLAVOR"] = flavor };
        foreach (var (k, v) in FlavorEnvironment(bucket, storagePath)) env[k] = v!;
        foreach (var (k, v) in extra) env[k] = v;
        return env;
    }

    /// <summary>The variables the <c>s3</c> and <c>ceph-s3</c> flavors read (sample config) for this gateway.</summary>
    public Dictionary<string, string?> FlavorEnvironment(string bucket, string storagePath) => new()
    {
        ["AWS_BUCKET"] = bucket,
        ["AWS_KEY"] = AccessKey,
        ["AWS_SECRET"] = SecretKey,
        ["AWS_HOST"] = "127.0.0.1",
        ["AWS_PORT"] = Port.ToString(CultureInfo.InvariantCulture),
        ["AWS_REGION"] = Region,
        ["AWS_SECURE"] = "false",
        // Pacific RGW answers 400 InvalidRequest to the SSE-S3 header (SSE-S3 came with Quincy; SSE wants TLS too).
        ["AWS_ENCRYPT"] = "false",
        ["STORAGE_PATH"] = storagePath,
    };

    public async ValueTask DisposeAsync()
    {
        // RGW, then the OSD, then the mon, each waited for: a daemon whose mon is gone hangs for minutes.
        for (var i = _daemons.Count - 1; i >= 0; i--)
        {
            var daemon = _daemons[i];
            await ChildProcess.TerminateAsync(daemon, StopTimeout, _output);
            daemon.Dispose();
        }
        _daemons.Clear();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A daemon's last log line; the temp folder is the OS's to clean then.
        }
    }

    private async Task StartDaemonsAsync()
    {
        var stopwatch = Stopwatch.StartNew();
        foreach (var sub in new[] { "run", "log", "mon", "osd/ceph-0", "rgw" }) System.IO.Directory.CreateDirectory(Path.Combine(Directory, sub));
        var monPort = FreePort.Next();
        Port = FreePort.Next();
        var fsid = Guid.NewGuid().ToString();
        var osdUuid = Guid.NewGuid().ToString();
        var conf = Path.Combine(Directory, "ceph.conf");
        await File.WriteAllTextAsync(conf, Config(fsid, monPort));

        // --addv with a v1 address: --add writes a msgr2 address and the first ceph command then hangs.
        await RunAsync("monmaptool", "--create", "--addv", "a", $"[v1:127.0.0.1:{monPort}]", "--fsid", fsid, Path.Combine(Directory, "monmap"));
        await RunAsync("ceph-mon", "-c", conf, "--mkfs", "-i", "a", "--monmap", Path.Combine(Directory, "monmap"));
        Spawn("ceph-mon", "-c", conf, "-i", "a", "-f");
        // The same UUID for create and mkfs, and the OSD placed in CRUSH before it boots (see Gotchas 3, 4).
        var osdId = (await MonCommandAsync(stopwatch, "ceph", "-c", conf, "osd", "create", osdUuid)).Trim();
        await MonCommandAsync(stopwatch, "ceph", "-c", conf, "osd", "crush", "add", $"osd.{osdId}", "1.0", "root=default");
        await RunAsync("ceph-osd", "-c", conf, "-i", osdId, "--mkfs", "--osd-uuid", osdUuid);
        Spawn("ceph-osd", "-c", conf, "-i", osdId, "-f");
        Spawn("radosgw", "-c", conf, "-n", "client.rgw.ci", "-f");

        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (true)
        {
            if (_daemons.FirstOrDefault(d => d.HasExited) is { } dead)
                throw new InvalidOperationException($"{dead.StartInfo.FileName} exited with code {dead.ExitCode}");
            try
            {
                using var response = await probe.GetAsync(Endpoint);
                break;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // RGW creates its pools first; it listens once they exist.
            }
            if (stopwatch.Elapsed > StartTimeout) throw new TimeoutException($"radosgw did not answer within {StartTimeout.TotalSeconds} s");
            await Task.Delay(100);
        }
        await RunAsync("radosgw-admin", "-c", conf, "user", "create", "--uid=ci", "--display-name=ci",
            $"--access-key={AccessKey}", $"--secret={SecretKey}");
        StartupTime = stopwatch.Elapsed;
        _output.Note($"radosgw ready on {Endpoint} after {StartupTime.TotalSeconds:F1} s");
    }

    private string Config(string fsid, int monPort)
    {
        var memstore = Environment.GetEnvironmentVariable("CEPH_MEMSTORE_BYTES") is { Length: > 0 } m ? m : "2147483648";
        // tcp_nodelay=1: beast leaves Nagle on, so every small reply (HEAD, listing, completion) waits ~40 ms for
        // the client's delayed ACK, and the tests would measure that instead of the driver.
        return $"""
            [global]
            fsid = {fsid}
            mon host = v1:127.0.0.1:{monPort}
            ms bind msgr2 = false
            public addr = 127.0.0.1
            cluster addr = 127.0.0.1
            public network = 127.0.0.0/8
            cluster network = 127.0.0.0/8
            auth cluster required = none
            auth service required = none
            auth client required = none
            run dir = {Directory}/run
            admin socket = {Directory}/run/$name.asok
            log file = {Directory}/log/$name.log
            pid file = {Directory}/run/$name.pid
            mon data = {Directory}/mon/$cluster-$id
            osd data = {Directory}/osd/$cluster-$id
            osd objectstore = memstore
            memstore device bytes = {memstore}
            osd pool default size = 1
            osd pool default min size = 1
            osd pool default pg num = 8
            osd pool default pgp num = 8
            osd pool default pg autoscale mode = off
            osd crush chooseleaf type = 0
            osd crush update on start = false
            osd class update on start = false
            mon allow pool size one = true
            mon allow pool delete = true
            mon max pg per osd = 1000
            mon warn on pool no redundancy = false
            mon data avail warn = 1
            paxos propose interval = 0.05
            paxos min wait = 0.01
            rgw data = {Directory}/rgw
            rgw frontends = beast endpoint=127.0.0.1:{Port} tcp_nodelay=1

            """;
    }

    private void Spawn(string tool, params string[] args)
    {
        var process = Process.Start(StartInfo(tool, args)) ?? throw new InvalidOperationException($"could not start {tool}");
        _daemons.Add(process);
        _output.Attach(process, $"{tool}[{process.Id}]");
    }

    /// <summary>
    /// A command to a monitor that has just started: a mon that has only just won its election may answer
    /// "EPERM: problem getting command descriptions" for a moment, and on a loaded machine again for the second command.
    /// Retried (the same OSD UUID makes <c>osd create</c> idempotent, <c>osd crush add</c> is) until the start timeout;
    /// any other failure is thrown at once.
    /// </summary>
    private static async Task<string> MonCommandAsync(Stopwatch started, string tool, params string[] args)
    {
        while (true)
        {
            try
            {
                return await RunAsync(tool, args);
            }
            catch (InvalidOperationException e) when (e.Message.Contains("problem getting command descriptions", StringComparison.Ordinal)
                                                      && started.Elapsed < StartTimeout)
            {
                await Task.Delay(250);
            }
        }
    }

    /// <summary>Runs a command to its end (bounded); returns stdout, throws with its output on failure.</summary>
    private static Task<string> RunAsync(string tool, params string[] args) => ChildProcess.RunToEndAsync(StartInfo(tool, args), CommandTimeout);

    private static ProcessStartInfo StartInfo(string tool, string[] args)
    {
        var info = new ProcessStartInfo(tool)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        // A developer's CEPH_CONF or CEPH_ARGS would point the tools at another cluster.
        info.Environment.Remove("CEPH_CONF");
        info.Environment.Remove("CEPH_ARGS");
        return info;
    }

    private static string ReadLogs(string directory)
    {
        var logs = Path.Combine(directory, "log");
        if (!System.IO.Directory.Exists(logs)) return "";
        return string.Concat(System.IO.Directory.EnumerateFiles(logs).Select(f =>
        {
            var text = File.ReadAllText(f);
            return $"{Environment.NewLine}--- {Path.GetFileName(f)} (tail){Environment.NewLine}{text[Math.Max(0, text.Length - 4000)..]}";
        }));
    }
}
