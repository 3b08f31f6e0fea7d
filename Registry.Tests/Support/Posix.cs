using System.Runtime.InteropServices;

namespace Registry.Tests.Support;

/// <summary>The few libc calls the process harnesses need and .NET does not expose (signals other than SIGKILL, the effective uid).</summary>
public static class Posix
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    public static bool IsRoot => geteuid() == 0;

    /// <summary>Sends <paramref name="signal"/> to exactly <paramref name="pid"/>; false when it no longer exists.</summary>
    public static bool Signal(int pid, int signal)
    {
        // pid 0 and negative pids address process groups: never what a harness means.
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(pid, 1);
        if (kill(pid, signal) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        const int esrch = 3;
        return errno == esrch
            ? false
            : throw new InvalidOperationException($"kill({pid}, {signal}) failed with errno {errno}");
    }

    /// <summary>The parent pid and start time (clock ticks since boot) of a live process, from /proc; null once it is gone.</summary>
    public static (int ParentPid, long StartTicks)? ReadProcStat(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) is in parentheses and may contain spaces: parse after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state); ppid is field 4, starttime field 22.
        return (int.Parse(fields[1]), long.Parse(fields[19]));
    }

    /// <summary>Live processes whose parent is <paramref name="parentPid"/>, with their start times.</summary>
    public static IReadOnlyList<(int Pid, long StartTicks)> ChildrenOf(int parentPid)
    {
        var children = new List<(int, long)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && ReadProcStat(pid) is { } stat && stat.ParentPid == parentPid)
            {
                children.Add((pid, stat.StartTicks));
            }
        }

        return children;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [DllImport("libc")]
    private static extern uint geteuid();
}
