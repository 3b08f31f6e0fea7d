namespace Registry.Core.Concurrency;

/// <summary>
/// A mutex per key (an image id, a repository, an upload session), so that the multi-file writes of one image or
/// repository never interleave. <see cref="KeyedLock"/> serializes within one process (the default, enough for one
/// instance); a cluster backend (PostgreSQL advisory locks) serializes across every instance on one storage.
/// </summary>
public interface IKeyedLock
{
    /// <summary>
    /// Waits for <paramref name="key"/> and holds it until the result is disposed. A backend that cannot reach its
    /// shared engine throws before the caller writes anything (the index database's unavailable exception, a 503).
    /// </summary>
    Task<IAsyncDisposable> AcquireAsync(string key, CancellationToken ct);
}
