using System.Runtime.InteropServices;

namespace Registry.V1.Hosting;

/// <summary>
/// glibc's malloc, tuned for a long-running server. <see cref="LimitArenas"/> caps it at two arenas, as
/// <c>MALLOC_ARENA_MAX=2</c> would (which, when set, is left to decide). glibc gives a thread that finds the arenas
/// busy an arena of its own, up to eight per core, and an arena keeps the pages its freed blocks held; as the thread
/// pool grows under blocking fsyncs and SQLite calls, every new thread's arena kept a few MiB. In a soak of pushes,
/// pulls and online collections the anonymous memory outside the GC heap was 26 MiB with the default and 12 MiB with
/// two arenas (README, 'A 30-minute soak'); the native allocations here (SQLite, OpenSSL) are small and short. glibc
/// fixes its limit once eight arenas exist, so this runs first thing in Main.
/// </summary>
internal static class NativeHeap
{
    /// <summary>glibc's <c>M_ARENA_MAX</c> parameter of mallopt(3).</summary>
    private const int ArenaMaxParameter = -8;

    private const int Arenas = 2;

    public static void LimitArenas()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is not null) return;
        try
        {
            mallopt(ArenaMaxParameter, Arenas);
        }
        catch (EntryPointNotFoundException)
        {
            // A C library without mallopt has its own allocator; nothing to tune.
        }
    }

    /// <summary>
    /// Gives the free pages of every arena back to the kernel (malloc_trim(3) with no padding): glibc on its own
    /// returns only the free space at the top of the main heap, so pages freed in the middle of an arena stay
    /// resident until reused.
    /// </summary>
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            malloc_trim(0);
        }
        catch (EntryPointNotFoundException)
        {
            // Not glibc: its allocator returns memory by its own rules.
        }
    }

    // DllImport, not LibraryImport: the latter needs unsafe code enabled for the whole project.
    [DllImport("libc")]
    private static extern int mallopt(int param, int value);

    [DllImport("libc")]
    private static extern int malloc_trim(nuint pad);
}
