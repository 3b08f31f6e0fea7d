using System.Runtime.InteropServices;

namespace Registry.Core.Storage;

/// <summary>
/// Asks Linux in one path walk whether a path below a root passes through a symbolic link: <c>openat2(2)</c> with
/// <c>RESOLVE_NO_SYMLINKS</c> (Linux 5.6, man openat2, 'RESOLVE_NO_SYMLINKS') fails with <c>ELOOP</c> at the first
/// link. Checking each component with its own readlink walks the path once per component, and a collection makes
/// millions of such checks. Where the answer is not clear (no openat2, a seccomp filter, any other error) the caller
/// checks component by component as before.
/// </summary>
internal static class NoSymlinkWalk
{
    // The generic system call table: the same number on x86-64 and arm64.
    private const long SysOpenat2 = 437;
    private const int AtFdCwd = -100;

    // O_PATH | O_CLOEXEC: no access to the content is needed, only the walk.
    private const ulong OpenFlags = 0x200000 | 0x80000;
    private const ulong ResolveNoSymlinks = 0x04;
    private const ulong ResolveBeneath = 0x08;

    private const int Enoent = 2;
    private const int Enotdir = 20;
    private const int Eloop = 40;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    /// <summary>
    /// False when no existing component of <paramref name="relative"/> below <paramref name="root"/> is a link (a missing
    /// component ends the walk: nothing below it exists); true when one may be; null when the kernel did not answer.
    /// The root itself may be a link, as the driver allows.
    /// </summary>
    public static bool? PassesThroughLink(string root, string relative)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var rootHow = new OpenHow { Flags = OpenFlags };
        var rootFd = openat2(SysOpenat2, AtFdCwd, root, ref rootHow, (nuint)Marshal.SizeOf<OpenHow>());
        if (rootFd < 0) return null;
        try
        {
            var how = new OpenHow { Flags = OpenFlags, Resolve = ResolveNoSymlinks | ResolveBeneath };
            var fd = openat2(SysOpenat2, (int)rootFd, relative, ref how, (nuint)Marshal.SizeOf<OpenHow>());
            if (fd >= 0)
            {
                close((int)fd);
                return false;
            }
            return Marshal.GetLastPInvokeError() switch
            {
                Enoent or Enotdir => false,
                Eloop => true,
                _ => null,
            };
        }
        finally
        {
            close((int)rootFd);
        }
    }

    // DllImport, not LibraryImport: the latter needs unsafe code enabled for the whole project. syscall(2) is variadic;
    // on x86-64 and arm64 Linux its integer arguments travel in the same registers as a fixed signature's.
    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long openat2(long number, int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref OpenHow how, nuint size);

    [DllImport("libc")]
    private static extern int close(int fd);
}
