using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Registry.Bench.Search;

/// <summary>
/// A PostgreSQL server of the benchmark's own (Debian's <c>postgresql</c> package), the recipe of the tests'
/// server: initdb into a temp folder, <c>pg_ctl</c> on 127.0.0.1 with a random port and fsync off, run as the
/// <c>postgres</c> user when root, stopped by PID (SIGINT, PostgreSQL's fast shutdown) and its folder deleted.
/// </summary>
public sealed class ThrowawayPostgres : IAsyncDisposable
{
    private const string User = "postgres";
    private const string Password = "bench-pg-pass";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly string _bin;
    private readonly string _directory;
    private int _pid;
    private int _port;

    private ThrowawayPostgres(string bin, string directory)
    {
        _bin = bin;
        _directory = directory;
    }

    private static bool IsRoot => Environment.UserName == "root";

    /// <summary>Starts a server; null (with the reason on stderr) when PostgreSQL is not installed.</summary>
    public static async Task<ThrowawayPostgres?> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.EnumerateDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().FirstOrDefault()
            : null;
        if (bin is null)
        {
            Console.Error.WriteLine("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb); pass --pg-url or install the 'postgresql' package");
            return null;
        }

        // Short: the unix socket lives in it and socket paths stop at 107 bytes.
        var server = new ThrowawayPostgres(bin, Directory.CreateTempSubdirectory("pgb-").FullName);
        try
        {
            var passwordFile = Path.Combine(server._directory, "pwfile");
            await File.WriteAllTextAsync(passwordFile, Password + "\n");
            if (IsRoot) await RunAsync("chown", false, "-R", $"{User}:{User}", server._directory);
            var data = Path.Combine(server._directory, "data");
            await RunAsync(Path.Combine(bin, "initdb"), true, "-D", data, "-U", User, $"--pwfile={passwordFile}",
                "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync");
            server._port = FreePort();
            var options = $"-c listen_addresses=127.0.0.1 -p {server._port} -k {server._directory} -c fsync=off " +
                          "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=512MB -c maintenance_work_mem=512MB " +
                          "-c max_wal_size=4GB";
            await RunAsync(Path.Combine(bin, "pg_ctl"), true, "-D", data, "-l", Path.Combine(server._directory, "postgres.log"),
                "-w", "-t", "60", "-o", options, "start");
            // pg_ctl leaves the server running on its own: its PID is the first line of postmaster.pid.
            server._pid = int.Parse((await File.ReadAllLinesAsync(Path.Combine(data, "postmaster.pid")))[0], CultureInfo.InvariantCulture);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates an empty database; returns its SQLAlchemy URL, as an operator would write it.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var admin = NpgsqlDataSource.Create(Url("postgres"));
        await using var command = admin.CreateCommand($"CREATE DATABASE \"{name}\"");
        await command.ExecuteNonQueryAsync();
        return $"postgresql://{User}:{Password}@127.0.0.1:{_port}/{name}";
    }

    private string Url(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = _port, Username = User, Password = Password, Database = database }.ToString();

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_pid > 1)
        {
            await RunAsync("kill", false, "-INT", _pid.ToString(CultureInfo.InvariantCulture));
            for (var i = 0; i < 300 && File.Exists($"/proc/{_pid}/stat") && !IsZombie(_pid); i++) await Task.Delay(50);
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // The temp folder is the OS's to clean then.
        }
    }

    /// <summary>
    /// CPU the server has used so far, all its processes: the postmaster's own and its live children's (backends,
    /// checkpointer, writers) from <c>/proc/PID/stat</c>, plus what its exited children (closed connections) left
    /// in its "children" fields. The difference over a run is what the run cost PostgreSQL.
    /// </summary>
    public TimeSpan Cpu()
    {
        long ticks = 0;
        foreach (var stat in Directory.EnumerateDirectories("/proc").Select(d => Path.Combine(d, "stat")))
        {
            string[] fields;
            try
            {
                var text = File.ReadAllText(stat);
                fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            if (fields.Length < 15) continue;
            // After the pid and the name: state, ppid, … utime (field 14), stime, cutime, cstime (17), 1-based overall.
            var pid = Path.GetFileName(Path.GetDirectoryName(stat));
            var ppid = fields[1];
            var self = pid == _pid.ToString(CultureInfo.InvariantCulture);
            if (!self && ppid != _pid.ToString(CultureInfo.InvariantCulture)) continue;
            ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            if (self) ticks += long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        }

        // Linux reports these in USER_HZ, 100 per second on every architecture .NET runs on.
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a command to its end (bounded), as the postgres user when root and <paramref name="asPostgres"/>.</summary>
    private static async Task RunAsync(string tool, bool asPostgres, params string[] args)
    {
        var info = new ProcessStartInfo(asPostgres && IsRoot ? "runuser" : tool)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // The postgres user cannot enter a root-only working directory.
            WorkingDirectory = "/",
        };
        if (asPostgres && IsRoot)
        {
            foreach (var arg in new[] { "-u", User, "--", tool }) info.ArgumentList.Add(arg);
        }

        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var name in new[] { "PGHOST", "PGPORT", "PGDATA", "PGUSER", "PGPASSWORD", "PGDATABASE" }) info.Environment.Remove(name);

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(CommandTimeout);
        await process.WaitForExitAsync(cts.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}{await stdout}");
        }
    }
}
