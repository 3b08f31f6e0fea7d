using Microsoft.Extensions.Logging;
using Registry.Core.Redis;
using StackExchange.Redis;

namespace Registry.Core.Storage.Caching;

/// <summary>
/// The Redis side of <see cref="CachingStorageDriver"/>: small files of one storage, shared by every registry instance on
/// that storage, never stale (docs/configuration.md, 'Redis').
/// </summary>
/// <remarks>
/// Keys are <c>{namespace}{generation}:d:{path}</c> (content), <c>…:v:{path}</c> (a write counter) and
/// <c>…:p:{path}</c> (writes in flight). A write marks the path before it touches storage (counter + 1, in-flight + 1,
/// content dropped) and again after (counter + 1, in-flight - 1, content dropped). A read that misses remembers the
/// counter and fills only if it is unchanged, nothing is in flight and nothing is cached (SET NX), all checked in one
/// script: a fill whose storage read could predate a write is refused, so it can never overwrite fresher state, and
/// a writer that dies between its marks leaves the path uncached rather than stale until the marks expire. Deleting a
/// folder bumps the generation, which drops every file at once. Every instance that missed a write because Redis
/// failed it bumps the generation too before it uses the cache again.
/// </remarks>
public sealed class RedisFileCache : IDisposable
{
    /// <summary>How long a writer's in-flight mark blocks fills: far longer than a small write takes.</summary>
    public static readonly TimeSpan InFlightTtl = TimeSpan.FromSeconds(60);

    // Values start with a kind byte: 'C' + the bytes, 'S' + a layer's size in decimal, or 'A' for "absent in storage".
    private const byte ContentKind = (byte)'C';
    private const byte SizeKind = (byte)'S';
    private const byte AbsentKind = (byte)'A';

    private const string ReadScript = """
        local g = redis.call('GET', ARGV[1] .. 'gen') or '0'
        local b = ARGV[1] .. g .. ':'
        return {g, redis.call('GET', b .. 'd:' .. ARGV[2]) or '', redis.call('GET', b .. 'v:' .. ARGV[2]) or ''}
        """;

    private const string FillScript = """
        if (redis.call('GET', ARGV[1] .. 'gen') or '0') ~= ARGV[3] then return 0 end
        local b = ARGV[1] .. ARGV[3] .. ':'
        if (redis.call('GET', b .. 'v:' .. ARGV[2]) or '') ~= ARGV[4] then return 0 end
        if redis.call('EXISTS', b .. 'p:' .. ARGV[2]) == 1 then return 0 end
        if redis.call('SET', b .. 'd:' .. ARGV[2], ARGV[5], 'PX', ARGV[6], 'NX') then return 1 end
        return 0
        """;

    // ARGV: namespace, ttl ms, in-flight ttl ms, +1 (before the write) or -1 (after), paths...
    private const string MarkScript = """
        local b = ARGV[1] .. (redis.call('GET', ARGV[1] .. 'gen') or '0') .. ':'
        for i = 5, #ARGV do
          local p = ARGV[i]
          redis.call('INCR', b .. 'v:' .. p)
          redis.call('PEXPIRE', b .. 'v:' .. p, ARGV[2])
          if ARGV[4] == '1' then
            redis.call('INCR', b .. 'p:' .. p)
            redis.call('PEXPIRE', b .. 'p:' .. p, ARGV[3])
          elseif redis.call('DECR', b .. 'p:' .. p) <= 0 then
            redis.call('DEL', b .. 'p:' .. p)
          end
          redis.call('DEL', b .. 'd:' .. p)
        end
        return 1
        """;

    private readonly RedisConnection _connection;
    private readonly ILogger _logger;
    private readonly string _namespace;
    private readonly long _ttlMs;
    private readonly Lock _lock = new();
    private bool _ready;
    private bool _readying;
    private int _bypassesInFlight;
    private long _missedWrites;
    private long _generationBumpedFor;
    private bool _outage;
    private long _lastReadyAttempt = long.MinValue / 2;

    // Milliseconds between two attempts to use the cache again, so that requests while Redis is away do not pile up.
    private const long ReadyInterval = 200;

    /// <param name="namespace">The key prefix of this storage, the same on every instance that shares it.</param>
    public RedisFileCache(RedisConnection connection, string @namespace, TimeSpan ttl, ILogger logger)
    {
        _connection = connection;
        _namespace = @namespace;
        _ttlMs = (long)ttl.TotalMilliseconds;
        _logger = logger;
        connection.Outage += OnOutage;
    }

    /// <summary>The key prefix of this storage's entries.</summary>
    public string Namespace => _namespace;

    /// <summary>True while reads and writes use Redis; false from start-up until Redis answered, and while it is away.</summary>
    public bool IsActive
    {
        get
        {
            lock (_lock) return _ready;
        }
    }

    /// <summary>What a read found: the cached value on a hit, or what a fill needs on a miss.</summary>
    public readonly record struct Lookup(bool Hit, byte[] Value, string Generation, string Counter, long StartedAt)
    {
        /// <summary>On a hit: whether the file exists in storage.</summary>
        public bool Exists => Value[0] != AbsentKind;

        /// <summary>On a hit of a cached file: its content, or null when it is absent.</summary>
        public byte[]? Content => Value[0] == ContentKind ? Value[1..] : null;

        /// <summary>On a hit: the size of the file, or null when it is absent.</summary>
        public long? Size => Value[0] switch
        {
            ContentKind => Value.Length - 1,
            SizeKind => long.Parse(Value.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture),
            _ => null,
        };
    }

    /// <summary>The value that caches <paramref name="content"/> (null: absent).</summary>
    public static byte[] ContentValue(byte[]? content) => content is null ? [AbsentKind] : [ContentKind, .. content];

    /// <summary>The value that caches a size only (null: absent).</summary>
    public static byte[] SizeValue(long? size) =>
        size is { } s ? [SizeKind, .. System.Text.Encoding.ASCII.GetBytes(s.ToString(System.Globalization.CultureInfo.InvariantCulture))] : [AbsentKind];

    /// <summary>A write's marks: the database the paths were marked in, or null when the write goes without Redis.</summary>
    public sealed record WriteMarks(string[] Paths, IDatabase? Database);

    /// <summary>The cached state of <paramref name="path"/>, or null when Redis is not in use right now.</summary>
    public async Task<Lookup?> LookupAsync(string path)
    {
        var database = Database();
        if (database is null) return null;
        try
        {
            var started = Environment.TickCount64;
            var reply = (RedisResult[])(await database.ScriptEvaluateAsync(ReadScript, values: [_namespace, path]))!;
            var value = (byte[])reply[1]!;
            return value.Length > 0
                ? new Lookup(true, value, "", "", started)
                : new Lookup(false, value, (string)reply[0]!, (string)reply[2]!, started);
        }
        catch (Exception e) when (RedisConnection.IsRedisFailure(e))
        {
            Failed(e);
            return null;
        }
    }

    /// <summary>
    /// Caches what storage answered after <paramref name="miss"/> (<see cref="ContentValue"/>, <see cref="SizeValue"/>),
    /// unless a write may have come in between.
    /// </summary>
    public async Task FillAsync(string path, Lookup miss, byte[] value)
    {
        // A fill that took longer than the counter lives could see a recreated counter: give up on it.
        if (Environment.TickCount64 - miss.StartedAt > _ttlMs / 2) return;
        var database = Database();
        if (database is null) return;
        try
        {
            await database.ScriptEvaluateAsync(FillScript, values: [_namespace, path, miss.Generation, miss.Counter, value, _ttlMs]);
        }
        catch (Exception e) when (RedisConnection.IsRedisFailure(e))
        {
            Failed(e);
        }
    }

    /// <summary>Marks <paramref name="paths"/> before a write to storage; without Redis, remembers that one was missed.</summary>
    public async Task<WriteMarks> BeginWriteAsync(params string[] paths)
    {
        var database = _connection.Database;
        lock (_lock)
        {
            // Decided under the lock that getting ready checks: a write either is marked or holds readiness back.
            if (!_ready || database is null)
            {
                _bypassesInFlight++;
                database = null;
            }
        }
        if (database is null)
        {
            StartGettingReady();
            return new WriteMarks(paths, null);
        }
        try
        {
            await database.ScriptEvaluateAsync(MarkScript, values: MarkArguments(1, paths));
            return new WriteMarks(paths, database);
        }
        catch (Exception e) when (RedisConnection.IsRedisFailure(e))
        {
            lock (_lock)
            {
                _ready = false;
                _outage = true;
                _bypassesInFlight++;
            }
            _connection.ReportFailure(e);
            return new WriteMarks(paths, null);
        }
    }

    /// <summary>Marks the paths again once the storage write is over (whether it succeeded or not).</summary>
    public async Task EndWriteAsync(WriteMarks marks)
    {
        if (marks.Database is { } database)
        {
            try
            {
                await database.ScriptEvaluateAsync(MarkScript, values: MarkArguments(-1, marks.Paths));
                return;
            }
            catch (Exception e) when (RedisConnection.IsRedisFailure(e))
            {
                lock (_lock) _missedWrites++;
                Failed(e);
                return;
            }
        }
        lock (_lock)
        {
            _bypassesInFlight--;
            _missedWrites++;
        }
    }

    /// <summary>
    /// Drops every cached file of this storage (a new generation), around deleting a folder. Without Redis the
    /// instance remembers it and bumps the generation before it uses the cache again.
    /// </summary>
    public async Task DropAllAsync()
    {
        var database = _connection.Database;
        lock (_lock)
        {
            if (!_ready || database is null)
            {
                _missedWrites++;
                database = null;
            }
        }
        if (database is null)
        {
            StartGettingReady();
            return;
        }
        try
        {
            await database.StringIncrementAsync(_namespace + "gen");
        }
        catch (Exception e) when (RedisConnection.IsRedisFailure(e))
        {
            lock (_lock) _missedWrites++;
            Failed(e);
        }
    }

    /// <summary>Closes the connection, which this cache owns.</summary>
    public void Dispose()
    {
        _connection.Outage -= OnOutage;
        _connection.Dispose();
    }

    private RedisValue[] MarkArguments(int direction, string[] paths) =>
        [_namespace, _ttlMs, (long)InFlightTtl.TotalMilliseconds, direction, .. paths.Select(p => (RedisValue)p)];

    /// <summary>The database when the cache may be used now; otherwise null, and the cache gets ready in the background.</summary>
    private IDatabase? Database()
    {
        bool ready;
        lock (_lock) ready = _ready;
        var database = ready ? _connection.Database : null;
        if (database is null) StartGettingReady();
        return database;
    }

    private void Failed(Exception e)
    {
        _connection.ReportFailure(e);
        OnOutage();
    }

    // An outage may have hidden writes of this instance (or dropped marks): bump the generation before the next use.
    private void OnOutage()
    {
        lock (_lock)
        {
            _ready = false;
            _outage = true;
        }
    }

    private void StartGettingReady()
    {
        lock (_lock)
        {
            var now = Environment.TickCount64;
            if (_ready || _readying || _bypassesInFlight > 0 || now - _lastReadyAttempt < ReadyInterval) return;
            _readying = true;
            _lastReadyAttempt = now;
        }
        _ = Task.Run(GetReadyAsync);
    }

    /// <summary>
    /// Uses the cache again once Redis answers and no write that went without it is still running; if one was missed
    /// (or Redis was away, so another instance's marks may be gone), bumps the generation first.
    /// </summary>
    private async Task GetReadyAsync()
    {
        try
        {
            var database = _connection.Database;
            if (database is null) return;
            long missed;
            bool bump;
            lock (_lock)
            {
                missed = _missedWrites;
                bump = _outage || missed != _generationBumpedFor;
            }
            if (bump)
            {
                var generation = await database.StringIncrementAsync(_namespace + "gen");
                _logger.LogInformation("file cache: generation {Generation} of {Namespace}, after Redis was away", generation, _namespace);
            }
            lock (_lock)
            {
                // A write that went without Redis started or ended meanwhile: try again on the next use.
                if (_bypassesInFlight > 0 || missed != _missedWrites) return;
                _generationBumpedFor = missed;
                _outage = false;
                _ready = true;
            }
        }
        catch (Exception e) when (RedisConnection.IsRedisFailure(e))
        {
            _connection.ReportFailure(e);
        }
        finally
        {
            lock (_lock) _readying = false;
        }
    }
}
