using Npgsql;
using Registry.Index.Search;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// Recent search pages of one instance, valid for one generation of the search rows. The current generation is
/// learned without a query per search: a connection of the cache's own LISTENs on <c>search_changed</c>, which
/// every change notifies with its generation at commit (<see cref="PostgresSearchSchema.Version7"/>). A page is
/// served only while that connection is up and nothing newer than the page's generation was notified; while it
/// is down, or before it has read the generation, every search goes to the database. This instance's own writes
/// raise a floor synchronously (the generation the write made), so that it never serves a page older than its own
/// write. Another instance's write is seen once its notification arrives, normally within milliseconds of the
/// commit: that is the staleness window, and why the cache can be turned off (<c>search_result_cache</c>).
/// </summary>
internal sealed class PostgresSearchPageCache : IDisposable
{
    /// <summary>Pages larger than the API allows (100) are not kept, so the cache stays small.</summary>
    private const int MaxPageSize = 100;

    private const int Capacity = 1024;

    /// <summary>The listening connection's application_name, so that operators (and tests) can tell it in pg_stat_activity.</summary>
    public const string ListenerName = "registry search listener";

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Term, long Offset, int Limit), SearchPage> _pages = [];
    private readonly NpgsqlConnectionStringBuilder _settings;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _listening;

    /// <summary>The newest generation notified while listening; null while not listening.</summary>
    private long? _notified;

    /// <summary>No page of a generation below this one is served or kept: this instance wrote it.</summary>
    private long _floor = long.MinValue;

    private long _pagesGeneration = long.MinValue;

    public PostgresSearchPageCache(NpgsqlConnectionStringBuilder settings)
    {
        _settings = new NpgsqlConnectionStringBuilder(settings.ConnectionString)
        {
            Pooling = false,
            ApplicationName = ListenerName,
            // A connection that died without a word (a dropped network) is noticed within seconds, not at the next write.
            KeepAlive = 5,
        };
        _listening = Task.Run(ListenAsync);
    }

    /// <summary>True while the listening connection is up and has read the current generation.</summary>
    public bool Live
    {
        get { lock (_gate) return _notified is not null; }
    }

    public SearchPage? Get(string term, long offset, int limit)
    {
        lock (_gate)
        {
            if (Current() is not { } current) return null;
            if (current != _pagesGeneration)
            {
                _pages.Clear();
                _pagesGeneration = current;
            }

            return _pages.GetValueOrDefault((term, offset, limit));
        }
    }

    /// <summary>Keeps a page read in a snapshot of <paramref name="generation"/>, if that is still the current one.</summary>
    public void Add(string term, long offset, int limit, long generation, SearchPage page)
    {
        if (limit > MaxPageSize) return;
        lock (_gate)
        {
            if (Current() != generation) return;
            if (_pagesGeneration != generation)
            {
                _pages.Clear();
                _pagesGeneration = generation;
            }

            // Simpler than LRU and enough for the few popular terms a registry sees.
            if (_pages.Count >= Capacity) _pages.Clear();
            _pages[(term, offset, limit)] = page;
        }
    }

    /// <summary>This instance committed a change that made <paramref name="generation"/>: nothing older is served from now on.</summary>
    public void Wrote(long generation)
    {
        lock (_gate)
        {
            _floor = Math.Max(_floor, generation);
            if (_pagesGeneration < _floor) _pages.Clear();
        }
    }

    private long? Current() => _notified is { } notified && notified >= _floor ? notified : null;

    private async Task ListenAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_settings.ConnectionString);
                connection.Notification += (_, e) =>
                {
                    if (!long.TryParse(e.Payload, out var generation)) return;
                    lock (_gate) _notified = _notified is { } known ? Math.Max(known, generation) : null;
                };
                await connection.OpenAsync(ct);
                await using (var listen = new NpgsqlCommand("LISTEN search_changed", connection))
                    await listen.ExecuteNonQueryAsync(ct);
                // Read after LISTEN: a change committed in between is notified, so none is missed.
                await using (var read = new NpgsqlCommand("SELECT generation FROM search_generation WHERE id = 0", connection))
                {
                    var generation = (long)(await read.ExecuteScalarAsync(ct))!;
                    lock (_gate) _notified = Math.Max(_notified ?? long.MinValue, generation);
                }

                while (true) await connection.WaitAsync(ct);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // Down: searches bypass the cache until the connection is back and has read the generation again.
                Stop();
                try
                {
                    await Task.Delay(RetryDelay, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            finally
            {
                Stop();
            }
        }
    }

    private void Stop()
    {
        lock (_gate)
        {
            _notified = null;
            _pages.Clear();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _listening.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The listener ends by cancellation; anything else it met was already handled in its loop.
        }

        _stop.Dispose();
    }
}
