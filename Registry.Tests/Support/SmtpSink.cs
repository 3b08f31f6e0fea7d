using System.Diagnostics;
using System.Net.Sockets;

namespace Registry.Tests.Support;

/// <summary>
/// A real SMTP server on 127.0.0.1 and a free port: Debian's aiosmtpd with its Maildir handler, so every message it
/// accepts becomes one file in <c>maildir/new</c>, with <c>X-MailFrom</c> and <c>X-RcptTo</c> added. Stopped by its PID.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ProcessOutput _output = new();

    private SmtpSink(string directory, int port, Process process)
    {
        Directory = directory;
        Port = port;
        _process = process;
    }

    public string Directory { get; }

    public int Port { get; }

    private string NewMail => Path.Combine(Directory, "maildir", "new");

    public static async Task<SmtpSink> StartAsync()
    {
        if (!await HasAiosmtpdAsync())
            ChildProcess.MissingDependency("python3-aiosmtpd is not installed: scripts/provision-test-deps.sh installs it");
        var dir = System.IO.Directory.CreateTempSubdirectory("smtp-sink-").FullName;
        var port = FreePort.Next();
        // -n: as root, aiosmtpd would otherwise switch to nobody and fail to write into the temp folder.
        var info = new ProcessStartInfo("/usr/bin/python3")
        {
            ArgumentList = { "-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", Path.Combine(dir, "maildir") },
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start aiosmtpd");
        var sink = new SmtpSink(dir, port, process);
        sink._output.Attach(process, "aiosmtpd");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return sink;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(10) && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                var output = sink._output.ToString();
                await sink.DisposeAsync();
                throw new InvalidOperationException($"aiosmtpd did not listen on 127.0.0.1:{port}: {output}");
            }
        }
    }

    /// <summary>The messages received so far, oldest first, each as its raw text.</summary>
    public IReadOnlyList<string> Messages() =>
        System.IO.Directory.Exists(NewMail)
            ? new DirectoryInfo(NewMail).GetFiles().OrderBy(f => f.LastWriteTimeUtc).ThenBy(f => f.Name, StringComparer.Ordinal)
                .Select(f => File.ReadAllText(f.FullName)).ToList()
            : [];

    /// <summary>Waits (at most <paramref name="timeout"/>) until <paramref name="count"/> messages are there; returns them all.</summary>
    public async Task<IReadOnlyList<string>> WaitForAsync(int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (Messages() is var messages && messages.Count < count && clock.Elapsed < timeout) await Task.Delay(50);
        return Messages();
    }

    public async ValueTask DisposeAsync()
    {
        await ChildProcess.TerminateAsync(_process, TimeSpan.FromSeconds(10), _output);
        _process.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static async Task<bool> HasAiosmtpdAsync()
    {
        var info = new ProcessStartInfo("/usr/bin/python3") { ArgumentList = { "-c", "import aiosmtpd" }, RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            await ChildProcess.RunToEndAsync(info, TimeSpan.FromSeconds(30));
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
