namespace Registry.Core.Maintenance;

/// <summary>
/// The collector of one storage layout (V1 images, v2 blobs): marks what its roots reach and sweeps the rest within
/// one <see cref="GcRun"/>, recording items, kept counts and changed repositories there. Collectors of one run share
/// its cut-off times, its lease and the coordinator's touched sets, and run one after the other.
/// </summary>
public interface IGcCollector
{
    Task CollectAsync(GcRun run, CancellationToken ct);
}
