using Microsoft.Data.Sqlite;
using Registry.Index.Search;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// Recent search pages, valid for one version of the database. The version is SQLite's
/// <c>PRAGMA data_version</c> read on a connection of its own, which changes whenever any other connection,
/// in this process or another one sharing the file, has committed; so a page is only served while nothing
/// was committed since it was read. A page read from a snapshot taken after version v was seen is stored
/// under v: it is at least as new as any request that still sees v.
/// </summary>
internal sealed class SearchResultCache(string connectionString, int capacity) : IDisposable
{
    /// <summary>Pages larger than the API allows (100) are not kept, so the cache stays small.</summary>
    public const int MaxPageSize = 100;

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Term, int PageSize, int Page), SearchPage> _pages = [];
    private SqliteConnection? _connection;
    private SqliteCommand? _dataVersion;
    private int _generation;
    private Version _version = new(-1, -1);
    private bool _disposed;

    /// <summary>
    /// Reads the current version (dropping every page of an older one) and looks the page up. The
    /// version is returned for <see cref="Add"/>.
    /// </summary>
    public SearchPage? Get(string term, int pageSize, int page, out Version version)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            version = ReadVersion();
            if (version != _version)
            {
                _pages.Clear();
                _version = version;
            }

            return _pages.GetValueOrDefault((term, pageSize, page));
        }
    }

    /// <summary>Keeps a page read after <see cref="Get"/> returned <paramref name="version"/>, unless a newer version was seen since.</summary>
    public void Add(string term, int pageSize, int page, Version version, SearchPage result)
    {
        if (pageSize > MaxPageSize)
        {
            return;
        }

        lock (_gate)
        {
            if (_disposed || version != _version)
            {
                return;
            }

            if (_pages.Count >= capacity)
            {
                // Simpler than LRU and enough for the few popular terms a registry sees.
                _pages.Clear();
            }

            _pages[(term, pageSize, page)] = result;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _pages.Clear();
            CloseConnection();
        }
    }

    private Version ReadVersion()
    {
        try
        {
            if (_dataVersion is null)
            {
                _connection = SearchReadSession.OpenConnection(connectionString);
                _dataVersion = _connection.CreateCommand();
                _dataVersion.CommandText = "PRAGMA data_version";
                // data_version only compares within one connection: a new one may start at the old value.
                _generation++;
            }

            return new Version(_generation, (long)_dataVersion.ExecuteScalar()!);
        }
        catch
        {
            CloseConnection();
            _pages.Clear();
            throw;
        }
    }

    /// <summary>A data_version, qualified by the connection it was read on.</summary>
    public readonly record struct Version(int Generation, long DataVersion);

    private void CloseConnection()
    {
        _dataVersion?.Dispose();
        _dataVersion = null;
        _connection?.Dispose();
        _connection = null;
    }
}
