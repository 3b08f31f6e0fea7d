using Microsoft.Extensions.Logging;
using Registry.Core.Configuration;
using StackExchange.Redis;

namespace Registry.Core.Redis;

/// <summary>
/// The shared Redis server of the <c>cache:</c> section, for any feature that keeps shared, losable state there.
/// Redis is optional at every moment: <see cref="Database"/> is null while it does not answer, and the caller goes
/// without it (never a failed request because of Redis).
/// </summary>
public interface IRedisConnection
{
    /// <summary>"redis host:port db N", for log lines.</summary>
    string Describe { get; }

    /// <summary>The database while Redis answers; null while it does not (a reconnect attempt is then under way).</summary>
    IDatabase? Database { get; }

    /// <summary>
    /// A command on <see cref="Database"/> failed (<see cref="IsRedisFailure"/>): Redis counts as down, with one
    /// warning, until it answers again.
    /// </summary>
    void ReportFailure(Exception failure);
}

/// <summary>
/// One lazily connected multiplexer with short timeouts that never waits for Redis: commands while it is down
/// fail fast instead of queueing, a failure switches the connection to "down" with one warning line, and a probe (a
/// PING at most once a second, started by the next caller) switches it back with one line.
/// </summary>
public sealed class RedisConnection : IRedisConnection, IDisposable
{
    /// <summary>How long a command or a connect may take before Redis counts as down.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(1000);

    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    private readonly RedisSettings _settings;
    private readonly string _purpose;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private ConnectionMultiplexer? _multiplexer;
    private IDatabase? _database;
    private bool _up;
    private bool _warned;
    private bool _probing;
    private long _lastProbe = long.MinValue / 2;
    private bool _disposed;

    /// <param name="purpose">What Redis is for, in the log lines ("cache", "file cache").</param>
    public RedisConnection(RedisSettings settings, string purpose, ILogger logger)
    {
        _settings = settings;
        _purpose = purpose;
        _logger = logger;
        Describe = settings.Describe();
        StartProbe();
    }

    public string Describe { get; }

    /// <summary>Raised (on a pool thread) when the connection to Redis broke, even with no command in flight.</summary>
    public event Action? Outage;

    public IDatabase? Database
    {
        get
        {
            lock (_lock)
            {
                if (_up && _multiplexer is { IsConnected: true }) return _database;
            }
            if (_up) ReportFailure(new IOException("the connection is lost"));
            StartProbe();
            return null;
        }
    }

    public void ReportFailure(Exception failure)
    {
        bool warn;
        lock (_lock)
        {
            warn = _up || !_warned;
            _up = false;
            _warned = true;
        }
        if (warn)
        {
            _logger.LogWarning("Redis {Purpose} at {Redis} does not answer ({Problem}): going without it until it does",
                _purpose, Describe, Problem(failure));
        }
        Outage?.Invoke();
    }

    // StackExchange.Redis messages carry a page of connection state; the log line keeps what an operator acts on.
    private static string Problem(Exception e) => e switch
    {
        RedisConnectionException c => $"connection {c.FailureType}",
        RedisTimeoutException => $"no answer within {Timeout.TotalMilliseconds} ms",
        _ => e.Message.Split('\n')[0],
    };

    /// <summary>True for the failures that mean "Redis does not answer" rather than a bug.</summary>
    public static bool IsRedisFailure(Exception e) => e is RedisException or TimeoutException or ObjectDisposedException;

    public void Dispose()
    {
        ConnectionMultiplexer? multiplexer;
        lock (_lock)
        {
            _disposed = true;
            _up = false;
            multiplexer = _multiplexer;
            _multiplexer = null;
        }
        multiplexer?.Dispose();
    }

    private void StartProbe()
    {
        lock (_lock)
        {
            var now = Environment.TickCount64;
            if (_disposed || _up || _probing || now - _lastProbe < (long)ProbeInterval.TotalMilliseconds) return;
            _probing = true;
            _lastProbe = now;
        }
        _ = Task.Run(ProbeAsync);
    }

    private async Task ProbeAsync()
    {
        try
        {
            var multiplexer = _multiplexer ?? await ConnectAsync();
            var database = multiplexer.GetDatabase(_settings.Database);
            await database.PingAsync();
            bool recovered;
            lock (_lock)
            {
                if (_disposed) return;
                recovered = _warned;
                _database = database;
                _up = true;
            }
            if (recovered) _logger.LogInformation("Redis {Purpose} at {Redis} answers again", _purpose, Describe);
            else _logger.LogInformation("Redis {Purpose} at {Redis} connected", _purpose, Describe);
        }
        catch (Exception e) when (IsRedisFailure(e) || e is System.Net.Sockets.SocketException)
        {
            ReportFailure(e);
        }
        finally
        {
            lock (_lock)
            {
                _probing = false;
            }
        }
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { { _settings.Host, _settings.Port } },
            Password = _settings.Password,
            DefaultDatabase = _settings.Database,
            // Never fail start-up or a request because Redis is down, and never queue commands until it is back.
            AbortOnConnectFail = false,
            BacklogPolicy = BacklogPolicy.FailFast,
            ConnectTimeout = (int)Timeout.TotalMilliseconds,
            SyncTimeout = (int)Timeout.TotalMilliseconds,
            AsyncTimeout = (int)Timeout.TotalMilliseconds,
            ConnectRetry = 1,
            ReconnectRetryPolicy = new LinearRetry((int)ProbeInterval.TotalMilliseconds),
            ClientName = "docker-registry",
        };
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(options);
        multiplexer.ConnectionFailed += (_, e) =>
        {
            // The pub/sub connection fails and recovers on its own schedule; commands go over the interactive one.
            if (e.ConnectionType == ConnectionType.Interactive) ReportFailure(e.Exception ?? new IOException(e.FailureType.ToString()));
        };
        lock (_lock)
        {
            if (_disposed)
            {
                multiplexer.Dispose();
                throw new ObjectDisposedException(nameof(RedisConnection));
            }
            _multiplexer = multiplexer;
        }
        return multiplexer;
    }
}
