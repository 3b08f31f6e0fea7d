using System.Runtime.InteropServices;
using System.Text;

namespace Registry.V2.Manifests;

/// <summary>
/// What one <c>statx(2)</c> of a path says about the file or directory there, compared whole to tell whether it
/// changed: the inode (a directory deleted and recreated, or a file renamed over, is another inode), the length, and
/// the modification and status-change times in nanoseconds. The status-change time (<c>ctime</c>) cannot be set from
/// user space, so a restore that puts old modification times back (<c>cp -a</c>, <c>rsync -a</c>, <c>touch -d</c>)
/// still shows as a change. Linux only; elsewhere there is no stamp and callers read through the storage driver.
/// </summary>
internal readonly record struct FileStamp(ulong Inode, long Length, long ModifiedNanos, long ChangedNanos)
{
    // <fcntl.h> and <linux/stat.h>: the same values on every Linux architecture .NET runs on.
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;
    private const int TypeMask = 0xF000;
    private const int RegularFile = 0x8000;
    private const int Directory = 0x4000;

    /// <summary>Whether this platform has <c>statx</c> (Linux 4.11 and glibc 2.28 or later).</summary>
    public static readonly bool Supported = OperatingSystem.IsLinux() && Probe();

    /// <summary>A path as <c>statx</c> takes it: UTF-8, NUL-terminated.</summary>
    public static byte[] NativePath(string path)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    /// <summary>
    /// The stamp of the entry at <paramref name="nativePath"/> when it is a regular file (or, with
    /// <paramref name="directory"/>, a directory); null when it is missing, of another kind or a symbolic link
    /// (never followed: the storage driver decides about links).
    /// </summary>
    public static FileStamp? Of(byte[] nativePath, bool directory)
    {
        if (statx(AtFdCwd, nativePath, AtSymlinkNoFollow, StatxBasicStats, out var buffer) != 0) return null;
        if ((buffer.Mode & TypeMask) != (directory ? Directory : RegularFile)) return null;
        return new FileStamp(buffer.Inode, (long)buffer.Size, Nanos(buffer.MtimeSeconds, buffer.MtimeNanos), Nanos(buffer.CtimeSeconds, buffer.CtimeNanos));
    }

    private static long Nanos(long seconds, uint nanos) => seconds * 1_000_000_000 + nanos;

    private static bool Probe()
    {
        try
        {
            return Of(NativePath("/"), directory: true) is not null;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary><c>struct statx</c> of <c>linux/stat.h</c>: the same 256-byte layout on every architecture.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Inode;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(96)] public long CtimeSeconds;
        [FieldOffset(104)] public uint CtimeNanos;
        [FieldOffset(112)] public long MtimeSeconds;
        [FieldOffset(120)] public uint MtimeNanos;
    }

    // DllImport, not LibraryImport: the latter needs unsafe code enabled for the whole project. Both arguments are
    // blittable, so the call pins them and copies nothing.
    [DllImport("libc", SetLastError = false)]
    private static extern int statx(int dirfd, byte[] path, int flags, uint mask, out StatxBuffer buffer);
}
