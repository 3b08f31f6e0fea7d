using System.Runtime;

namespace Registry.V1.Hosting;

/// <summary>
/// Gives back the memory of a finished garbage collection run. A run lists every repository, tag and blob and
/// lasts minutes, so what it builds survives into gen2 and the large-object heap; the runtime then keeps that
/// space committed for the next gen2 budget and returns it slowly, and in a soak every online collection left
/// RSS a few MiB higher (README, 'A 30-minute soak'). One compacting, decommitting collection after the run,
/// plus trimming malloc, returns it at once. Runs are minutes apart, so the one blocking full collection this
/// costs is rare; it runs on the thread pool once the run's answer is written, never on a request's path.
/// </summary>
internal static class MemoryRelease
{
    private static int _pending;

    /// <summary>Queues the release after <paramref name="http"/>'s response is complete (and its report unreferenced).</summary>
    public static void AfterResponse(HttpContext http) => http.Response.OnCompleted(() =>
    {
        // Two runs finishing together need one release.
        if (Interlocked.Exchange(ref _pending, 1) == 0) ThreadPool.UnsafeQueueUserWorkItem(_ => Release(), null);
        return Task.CompletedTask;
    });

    private static void Release()
    {
        Volatile.Write(ref _pending, 0);
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.Trim();
    }
}
