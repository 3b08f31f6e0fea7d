namespace Registry.Index.Search;

/// <summary>Where a rebuild of the search indexes from storage is (<see cref="RepositoryCatalog.RebuildAsync"/>).</summary>
/// <param name="Phase">Scanning storage, then writing the rows into the index database, then done.</param>
/// <param name="Scanned">Repositories found in storage so far.</param>
/// <param name="Written">Rows written into the index database (public and private), once known.</param>
public sealed record RebuildProgress(RebuildPhase Phase, long Scanned, long Written);

public enum RebuildPhase
{
    Scanning,
    Writing,
    Done,
}
