using System.Diagnostics;
using System.Globalization;
using Npgsql;
using NUnit.Framework;

namespace Registry.Tests.Support;

/// <summary>
/// A real PostgreSQL server for the tests (Debian's <c>postgresql</c> package): initdb into a temp folder,
/// started by <c>pg_ctl</c> on 127.0.0.1 with a random port, its unix socket in that folder and fsync off. As
/// root the server runs as the <c>postgres</c> user (it refuses root). One server serves the whole test run
/// (<see cref="SharedAsync"/>); <see cref="PostgresServerRun"/> stops it at the end, by PID. Each fixture takes a
/// database of its own (<see cref="CreateDatabaseAsync"/>).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string User = "postgres";
    public const string Password = "ci-pg-pass";

    private const int SigInt = 2;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);
    private static readonly SharedServer<PostgresServer> Shared = new("PostgreSQL");

    private readonly string _bin;
    private NpgsqlDataSource? _admin;
    private int _pid;

    private PostgresServer(string bin, string directory)
    {
        _bin = bin;
        Directory = directory;
    }

    /// <summary>The temp folder with data/, the unix socket and postgres.log.</summary>
    public string Directory { get; }

    public int Port { get; private set; }

    /// <summary>
    /// The run's shared server, started by the first caller. Ignores the test (locally) or fails it (CI=true)
    /// when PostgreSQL is not installed: the test command installs it (scripts/provision-test-deps.sh).
    /// </summary>
    public static Task<PostgresServer> SharedAsync()
    {
        var bin = RequireAvailable();
        return Shared.GetAsync(() => StartAsync(bin));
    }

    /// <summary>Stops the shared server if one was started.</summary>
    public static Task StopSharedAsync() => Shared.StopAsync();

    /// <summary>
    /// The bin folder of the newest installed PostgreSQL. Ignores (locally) or fails (CI=true) the current test
    /// when there is none, or when running as root without the <c>postgres</c> user to run it as.
    /// </summary>
    public static string RequireAvailable()
    {
        var bin = System.IO.Directory.Exists("/usr/lib/postgresql")
            ? System.IO.Directory.EnumerateDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        string? missing = null;
        if (bin is null) missing = "PostgreSQL (/usr/lib/postgresql/*/bin/initdb) is not installed";
        else if (Posix.IsRoot && !UserExists(User)) missing = $"running as root, but there is no '{User}' user to run PostgreSQL as";
        if (missing is null) return bin!;
        ChildProcess.MissingDependency($"{missing}: the test command should have installed the 'postgresql' package (scripts/provision-test-deps.sh, as root).");
        return "";
    }

    /// <summary>
    /// A server of the caller's own, which it disposes: for a test that stops and restarts it
    /// (<see cref="StopAsync"/>, <see cref="RestartAsync"/>) without taking the shared one from other tests.
    /// </summary>
    public static Task<PostgresServer> StartDedicatedAsync() => StartAsync(RequireAvailable());

    /// <summary>Stops the server by PID with a fast shutdown (open sessions are ended); the data folder stays.</summary>
    public async Task StopAsync()
    {
        if (_admin is not null) await _admin.DisposeAsync();
        _admin = null;
        Posix.Signal(_pid, SigInt);
        if (!await WaitGoneAsync(_pid, StopTimeout)) throw new TimeoutException($"PostgreSQL (PID {_pid}) did not stop within {StopTimeout.TotalSeconds} s");
        _pid = 0;
    }

    /// <summary>Starts the server stopped by <see cref="StopAsync"/> again, on the same port and data folder.</summary>
    public Task RestartAsync() => StartOnPortAsync();

    /// <summary>A connection string (TCP, password) for <paramref name="database"/>.</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = User,
        Password = Password,
        Database = database,
    }.ToString();

    /// <summary>The SQLAlchemy URL of <paramref name="database"/>, as an operator would write it.</summary>
    public string Url(string database) => $"postgresql://{User}:{Password}@127.0.0.1:{Port}/{database}";

    /// <summary>Creates an empty database with a unique name starting with <paramref name="purpose"/>; returns the name.</summary>
    public async Task<string> CreateDatabaseAsync(string purpose)
    {
        var name = $"{purpose}_{Guid.NewGuid():N}".ToLowerInvariant();
        name = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray())[..Math.Min(name.Length, 63)];
        await using var command = _admin!.CreateCommand($"CREATE DATABASE \"{name}\"");
        await command.ExecuteNonQueryAsync();
        return name;
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null) await _admin.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        if (_pid > 1)
        {
            // SIGINT is PostgreSQL's fast shutdown: open sessions are ended, not waited for.
            Posix.Signal(_pid, SigInt);
            if (!await WaitGoneAsync(_pid, StopTimeout))
            {
                Posix.Signal(_pid, Posix.SigKill);
                await WaitGoneAsync(_pid, StopTimeout);
            }
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A last log line; the temp folder is the OS's to clean then.
        }
    }

    private static async Task<PostgresServer> StartAsync(string bin)
    {
        // Short: the unix socket lives in it and socket paths stop at 107 bytes.
        var server = new PostgresServer(bin, System.IO.Directory.CreateTempSubdirectory("pg-").FullName);
        try
        {
            await server.InitAsync();
            // The port is free when picked, not necessarily when bound: one retry with another.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await server.StartServerAsync();
                    break;
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                    await TestContext.Progress.WriteLineAsync($"PostgreSQL did not start on port {server.Port}; retrying on another");
                }
            }
            return server;
        }
        catch (Exception e)
        {
            var log = Path.Combine(server.Directory, "postgres.log");
            var tail = File.Exists(log) ? await File.ReadAllTextAsync(log) : "";
            await server.DisposeAsync();
            throw new InvalidOperationException($"PostgreSQL did not start: {e.Message}{Environment.NewLine}{tail}", e);
        }
    }

    private async Task InitAsync()
    {
        var passwordFile = Path.Combine(Directory, "pwfile");
        await File.WriteAllTextAsync(passwordFile, Password + "\n");
        if (Posix.IsRoot) await RunAsync("chown", false, "-R", $"{User}:{User}", Directory);
        await RunAsync(Path.Combine(_bin, "initdb"), true, "-D", Path.Combine(Directory, "data"), "-U", User,
            $"--pwfile={passwordFile}", "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync");
    }

    private async Task StartServerAsync()
    {
        Port = FreePort.Next();
        await StartOnPortAsync();
    }

    private async Task StartOnPortAsync()
    {
        var options = $"-c listen_addresses=127.0.0.1 -p {Port} -k {Directory} -c fsync=off -c synchronous_commit=off " +
                      "-c full_page_writes=off -c max_connections=300";
        var data = Path.Combine(Directory, "data");
        await RunAsync(Path.Combine(_bin, "pg_ctl"), true, "-D", data, "-l", Path.Combine(Directory, "postgres.log"), "-w", "-t", "60",
            "-o", options, "start");
        // pg_ctl leaves the server running on its own: its PID is the first line of postmaster.pid.
        _pid = int.Parse((await File.ReadAllLinesAsync(Path.Combine(data, "postmaster.pid")))[0], CultureInfo.InvariantCulture);
        _admin = NpgsqlDataSource.Create(ConnectionString("postgres"));
        await using var command = _admin.CreateCommand("SELECT 1");
        await command.ExecuteScalarAsync();
    }

    /// <summary>Runs a command to its end (bounded), as the postgres user when root and <paramref name="asPostgres"/>.</summary>
    private static async Task RunAsync(string tool, bool asPostgres, params string[] args)
    {
        var info = new ProcessStartInfo(asPostgres && Posix.IsRoot ? "runuser" : tool)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // The postgres user cannot enter a root-only working directory.
            WorkingDirectory = "/",
        };
        if (asPostgres && Posix.IsRoot)
        {
            foreach (var arg in new[] { "-u", User, "--", tool }) info.ArgumentList.Add(arg);
        }
        foreach (var arg in args) info.ArgumentList.Add(arg);
        // A developer's PG* variables would point the tools at another server.
        foreach (var name in new[] { "PGHOST", "PGPORT", "PGDATA", "PGUSER", "PGPASSWORD", "PGDATABASE" }) info.Environment.Remove(name);
        await ChildProcess.RunToEndAsync(info, CommandTimeout);
    }

    /// <summary>Waits until the process is gone; a zombie counts as gone (PID 1 may reap a daemon late).</summary>
    private static async Task<bool> WaitGoneAsync(int pid, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < timeout)
        {
            string stat;
            try
            {
                stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
            }
            catch (IOException)
            {
                return true;
            }
            if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z')) return true;
            await Task.Delay(50);
        }
        return false;
    }

    private static bool UserExists(string name) =>
        File.Exists("/etc/passwd") && File.ReadLines("/etc/passwd").Any(line => line.StartsWith(name + ":", StringComparison.Ordinal));
}
