using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using NUnit.Framework;

namespace Registry.Tests.Support;

/// <summary>
/// A real OpenLDAP server for the tests (Debian's <c>slapd</c>, seeded with <c>ldapadd</c> of <c>ldap-utils</c>): a
/// private <c>slapd.conf</c> with an MDB database under <see cref="Suffix"/>, listening on 127.0.0.1 only, on a random
/// <c>ldap://</c> port (StartTLS offered) and a random <c>ldaps://</c> port, both with a test certificate
/// (<see cref="CaFile"/>); stopped by PID. One server serves the whole run (<see cref="SharedAsync"/>, stopped by
/// <see cref="SlapdRun"/>); a test that stops it takes one of its own (<see cref="StartDedicatedAsync"/>).
/// </summary>
public sealed class Slapd : IAsyncDisposable
{
    public const string Suffix = "dc=example,dc=test";
    public const string People = "ou=people," + Suffix;
    public const string Groups = "ou=groups," + Suffix;
    public const string RootDn = "cn=admin," + Suffix;
    public const string RootPassword = "ci-admin-pass";

    /// <summary>The registry's admins: a groupOfNames with <c>member</c> carol.</summary>
    public const string AdminGroup = "cn=registry-admins," + Groups;

    /// <summary>A posixGroup with <c>memberUid</c> bob.</summary>
    public const string PosixGroup = "cn=ops," + Groups;

    /// <summary>A groupOfUniqueNames with <c>uniqueMember</c> alice.</summary>
    public const string UniqueGroup = "cn=leads," + Groups;

    /// <summary>Users and passwords of the seed: carol is in <see cref="AdminGroup"/>; "o'neil (x)" has filter metacharacters.</summary>
    public static readonly IReadOnlyDictionary<string, string> Users = new Dictionary<string, string>
    {
        ["alice"] = "alice-pass",
        ["bob"] = "bob-pass",
        ["carol"] = "carol-pass",
        ["o'neil (x)"] = "oneil-pass",
    };

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);
    private static readonly SharedServer<Slapd> Shared = new("slapd");

    private readonly ProcessOutput _output = new();
    private Process? _process;

    private Slapd(string directory) => Directory = directory;

    /// <summary>The temp folder with slapd.conf, the database and the certificate.</summary>
    public string Directory { get; }

    public int Port { get; private set; }

    public int LdapsPort { get; private set; }

    public string Url => $"ldap://127.0.0.1:{Port}";

    public string LdapsUrl => $"ldaps://127.0.0.1:{LdapsPort}";

    /// <summary>The server's self-signed certificate (PEM), the CA a client must trust.</summary>
    public string CaFile => Path.Combine(Directory, "registry.crt");

    /// <summary>The run's shared server, started and seeded by the first caller.</summary>
    public static Task<Slapd> SharedAsync()
    {
        RequireAvailable();
        return Shared.GetAsync(StartAsync);
    }

    /// <summary>Stops the shared server if one was started.</summary>
    public static Task StopSharedAsync() => Shared.StopAsync();

    /// <summary>A seeded server of the caller's own, which it disposes (for tests that stop it).</summary>
    public static Task<Slapd> StartDedicatedAsync()
    {
        RequireAvailable();
        return StartAsync();
    }

    /// <summary>True while the server process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Stops the server by PID (SIGTERM).</summary>
    public async Task StopAsync()
    {
        var process = _process ?? throw new InvalidOperationException("slapd is not running");
        _process = null;
        using (process) await ChildProcess.TerminateAsync(process, StopTimeout, _output);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // The temp folder is the OS's to clean then.
        }
    }

    private static void RequireAvailable()
    {
        if (ChildProcess.FindOnPath("slapd", "/usr/sbin") is null || ChildProcess.FindOnPath("ldapadd", "/usr/bin") is null)
            ChildProcess.MissingDependency("slapd or ldapadd is not installed: the test command should have installed the 'slapd' and " +
                                           "'ldap-utils' packages (scripts/provision-test-deps.sh, as root).");
    }

    private static async Task<Slapd> StartAsync()
    {
        var server = new Slapd(System.IO.Directory.CreateTempSubdirectory("slapd-").FullName);
        try
        {
            TestCertificate.Write(server.Directory);
            System.IO.Directory.CreateDirectory(Path.Combine(server.Directory, "db"));
            // The ports are free when picked, not necessarily when bound: retry with others.
            for (var attempt = 1; ; attempt++)
            {
                (server.Port, server.LdapsPort) = (FreePort.Next(), FreePort.Next());
                try
                {
                    await server.StartOnPortsAsync();
                    break;
                }
                catch (InvalidOperationException e) when (attempt < 3)
                {
                    await TestContext.Progress.WriteLineAsync($"slapd did not start on ports {server.Port}/{server.LdapsPort}; retrying: {e.Message}");
                }
            }
            await server.SeedAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task StartOnPortsAsync()
    {
        var conf = Path.Combine(Directory, "slapd.conf");
        await File.WriteAllTextAsync(conf, $"""
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/inetorgperson.schema
            include /etc/ldap/schema/nis.schema
            pidfile {Path.Combine(Directory, "slapd.pid")}
            modulepath /usr/lib/ldap
            moduleload back_mdb
            TLSCertificateFile {Path.Combine(Directory, "registry.crt")}
            TLSCertificateKeyFile {Path.Combine(Directory, "registry.key")}
            database mdb
            maxsize 104857600
            suffix "{Suffix}"
            rootdn "{RootDn}"
            rootpw {RootPassword}
            directory {Path.Combine(Directory, "db")}
            index objectClass,uid eq
            access to attrs=userPassword by self write by anonymous auth by * none
            access to * by * read

            """);
        var info = new ProcessStartInfo(ChildProcess.FindOnPath("slapd", "/usr/sbin")!)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // -d 0 keeps slapd in the foreground, so the PID is the child's.
        foreach (var arg in new[] { "-f", conf, "-h", $"{Url}/ {LdapsUrl}/", "-d", "0" }) info.ArgumentList.Add(arg);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start slapd");
        _output.Attach(process, "slapd");
        _process = process;
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                _process = null;
                throw new InvalidOperationException($"slapd exited with {process.ExitCode} on ports {Port}/{LdapsPort}:{Environment.NewLine}{_output}");
            }
            if (await AcceptsAsync(Port) && await AcceptsAsync(LdapsPort)) return;
            if (stopwatch.Elapsed > ReadyTimeout)
            {
                await StopAsync();
                throw new TimeoutException($"slapd did not listen on {Port}/{LdapsPort} within {ReadyTimeout.TotalSeconds} s:{Environment.NewLine}{_output}");
            }
            await Task.Delay(20);
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync("127.0.0.1", port, cts.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private async Task SeedAsync()
    {
        var people = string.Concat(Users.Select((user, i) => $"""
            dn: uid={Escape(user.Key)},{People}
            objectClass: inetOrgPerson
            uid: {user.Key}
            cn: {user.Key}
            sn: User{i}
            mail: {i}@example.test
            userPassword: {user.Value}


            """));
        var ldif = Path.Combine(Directory, "seed.ldif");
        await File.WriteAllTextAsync(ldif, $"""
            dn: {Suffix}
            objectClass: dcObject
            objectClass: organization
            o: Example
            dc: example

            dn: {People}
            objectClass: organizationalUnit
            ou: people

            dn: {Groups}
            objectClass: organizationalUnit
            ou: groups

            {people}dn: {AdminGroup}
            objectClass: groupOfNames
            cn: registry-admins
            member: uid=carol,{People}

            dn: {PosixGroup}
            objectClass: posixGroup
            cn: ops
            gidNumber: 5000
            memberUid: bob

            dn: {UniqueGroup}
            objectClass: groupOfUniqueNames
            cn: leads
            uniqueMember: uid=alice,{People}

            """);
        var info = new ProcessStartInfo(ChildProcess.FindOnPath("ldapadd", "/usr/bin")!)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "-x", "-H", Url, "-D", RootDn, "-w", RootPassword, "-f", ldif }) info.ArgumentList.Add(arg);
        await ChildProcess.RunToEndAsync(info, ReadyTimeout);
    }

    /// <summary>The seed's user names as DN values (RFC 4514): only the ones used here need escaping.</summary>
    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(",", "\\,", StringComparison.Ordinal);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"slapd {Url} {LdapsUrl} (pid {_process?.Id})");
}
