namespace Registry.Core.Maintenance;

/// <summary>
/// How far one phase of a long maintenance job (a garbage collection's sweep, an index copy) has come: how many
/// things are done, and how many there are in all when that is known (for an ETA).
/// </summary>
/// <param name="Phase">What is being done, e.g. "deleting blobs"; a new value starts a new phase.</param>
/// <param name="Counted">False for preparation (a collection's scan and mark): shown while it runs, but the job's
/// summary counts only the work it is about (the things deleted, the rows copied).</param>
public sealed record WorkProgress(string Phase, long Done, long? Total, bool Counted = true);
