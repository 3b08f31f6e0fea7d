using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Registry.Core.Storage;

/// <summary>
/// Starts the disk writes of a large file while it is still being received, so the one fsync at the end (which
/// stays: a stored object must survive a power loss) waits for the last few MiB only instead of the whole body.
/// Without it Linux keeps the body as dirty pages until the fsync, which then writes hundreds of MiB while the
/// client waits. Linux sync_file_range(2) with SYNC_FILE_RANGE_WRITE: asynchronous, a hint that guarantees
/// nothing; each call first waits for the range before the previous one, which bounds the dirty pages of one
/// upload without ever waiting for the range just written. Elsewhere, or where the file system refuses, nothing.
/// </summary>
internal sealed class EarlyWriteback(SafeFileHandle file)
{
    /// <summary>Ranges of this size are handed to the kernel as they fill.</summary>
    public const long RangeBytes = 8L << 20;

    private const uint WaitBefore = 1;
    private const uint Write = 2;
    private const uint WaitAfter = 4;

    private static volatile bool _unsupported = !OperatingSystem.IsLinux();

    private long _started;

    /// <summary>Called after each write with the file's length so far.</summary>
    public void Written(long length)
    {
        if (_unsupported || length - _started < RangeBytes) return;
        // The range before the one in flight is waited for (it had a whole range's time to finish), then this one starts.
        if (_started >= RangeBytes) Call(_started - RangeBytes, RangeBytes, WaitBefore | Write | WaitAfter);
        Call(_started, length - _started, Write);
        _started = length;
    }

    private void Call(long offset, long length, uint flags)
    {
        if (sync_file_range(file, offset, length, flags) != 0) _unsupported = true;
    }

    // DllImport, not LibraryImport: the latter needs unsafe code enabled for the whole project.
    [DllImport("libc", SetLastError = true)]
    private static extern int sync_file_range(SafeFileHandle fd, long offset, long nbytes, uint flags);
}
