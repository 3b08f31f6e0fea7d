namespace Registry.Index.Search;

/// <summary>
/// The repository names of the distribution layout (what <c>GET /v2/_catalog</c> lists: every valid name whose
/// directory holds <c>_manifests</c>, tagged or not, private or not) as the index database keeps them, so that a
/// catalog page is one indexed query rather than a storage listing per directory. Kept by
/// <see cref="DistributionCatalog"/>; every write is idempotent, so instances sharing a database agree.
/// </summary>
public interface IDistributionNames
{
    /// <summary>Adds the name; no-op when present.</summary>
    Task AddAsync(string name, CancellationToken ct);

    /// <summary>Removes the name; no-op when absent.</summary>
    Task RemoveAsync(string name, CancellationToken ct);

    /// <summary>
    /// Up to <paramref name="limit"/> names whose <see cref="CatalogKey.Of"/> key is at or after <paramref name="fromKey"/>,
    /// in catalog order ('/' before every other character).
    /// </summary>
    Task<IReadOnlyList<string>> PageAsync(string fromKey, int limit, CancellationToken ct);

    /// <summary><paramref name="name"/> itself and every name below it (<c>name/…</c>), in catalog order.</summary>
    Task<IReadOnlyList<string>> ListUnderAsync(string name, CancellationToken ct);
}

/// <summary>
/// The stored sort key of a catalog name: '/' replaced by U+0001, so that a plain binary comparison (SQLite's
/// BINARY, PostgreSQL's "C" collation) puts '/' before every other character of the name grammar (Docker Registry
/// HTTP API V2, 'Listing Repositories'). U+0000 would be exact for any string, but PostgreSQL text cannot hold it.
/// </summary>
public static class CatalogKey
{
    public const char Separator = '\u0001';

    public static string Of(string name) => name.Replace('/', Separator);

    /// <summary>
    /// A key at or before that of every name sorting after <paramref name="last"/> (a client's <c>last</c>, which may be
    /// any text): cut at a U+0000 or U+0001, which no name holds and PostgreSQL cannot take. The caller filters the
    /// names it gets with the exact comparison.
    /// </summary>
    public static string LowerBound(string last)
    {
        var cut = last.IndexOfAny(['\0', Separator]);
        return Of(cut < 0 ? last : last[..cut]);
    }
}
