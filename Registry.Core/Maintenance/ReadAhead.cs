using System.Runtime.CompilerServices;

namespace Registry.Core.Maintenance;

/// <summary>
/// The collector's scans read one directory after another and each read mostly waits on the file system (the
/// kernel's directory reads and path walks) or on S3; a few reads in flight use both cores and overlap the waits,
/// while the results still come in the source's order and at most <c>window</c> of them are held at once.
/// </summary>
public static class ReadAhead
{
    /// <summary>Reads in flight at once: enough for 2 cores and the waits between, few enough to keep memory flat.</summary>
    public const int Window = 4;

    /// <summary><paramref name="read"/> of each item on the thread pool, <paramref name="window"/> at once, results in source order.</summary>
    public static async IAsyncEnumerable<TResult> InOrderAsync<TSource, TResult>(
        IAsyncEnumerable<TSource> source, Func<TSource, Task<TResult>> read, [EnumeratorCancellation] CancellationToken ct, int window = Window)
    {
        var running = new Queue<Task<TResult>>();
        try
        {
            await foreach (var item in source.WithCancellation(ct))
            {
                if (running.Count == window) yield return await running.Dequeue();
                running.Enqueue(Task.Run(() => read(item), ct));
            }
            while (running.Count > 0) yield return await running.Dequeue();
        }
        finally
        {
            // Stopped early (an error or the caller left): no read outlives the enumeration.
            while (running.Count > 0)
            {
                try
                {
                    await running.Dequeue();
                }
                catch (Exception)
                {
                    // The enumeration already ends with the first failure or the caller's own exit.
                }
            }
        }
    }

    /// <inheritdoc cref="InOrderAsync{TSource,TResult}(IAsyncEnumerable{TSource},Func{TSource,Task{TResult}},CancellationToken,int)"/>
    public static IAsyncEnumerable<TResult> InOrderAsync<TSource, TResult>(
        IEnumerable<TSource> source, Func<TSource, Task<TResult>> read, CancellationToken ct, int window = Window) =>
        InOrderAsync(AsAsync(source), read, ct, window);

    private static async IAsyncEnumerable<T> AsAsync<T>(IEnumerable<T> source)
    {
        foreach (var item in source) yield return item;
        await Task.CompletedTask;
    }
}
