using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// Long-lived read connections for searches. Opening a pooled connection, re-applying its PRAGMAs and
/// preparing every statement again cost more than the statements themselves for most searches, so each
/// session keeps its connection and its prepared commands. A session is used by one search at a time:
/// <see cref="Rent"/> hands it out exclusively and <see cref="Return"/> takes it back. Writes never use
/// these connections.
/// </summary>
internal sealed class SearchReadPool(string connectionString, int maxIdle) : IDisposable
{
    private readonly ConcurrentBag<SearchReadSession> _idle = [];
    private int _idleCount;
    private volatile bool _disposed;

    public SearchReadSession Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryTake(out var session))
        {
            Interlocked.Decrement(ref _idleCount);
            return session;
        }

        return SearchReadSession.Open(connectionString);
    }

    /// <summary>Keeps the session for the next search, or closes it when enough are idle already.</summary>
    public void Return(SearchReadSession session)
    {
        if (_disposed)
        {
            session.Dispose();
            return;
        }

        if (Interlocked.Increment(ref _idleCount) > maxIdle)
        {
            Interlocked.Decrement(ref _idleCount);
            session.Dispose();
            return;
        }

        _idle.Add(session);
        // A Dispose that ran between the check and the Add would have missed this session.
        if (_disposed && _idle.TryTake(out var late))
        {
            late.Dispose();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var session))
        {
            session.Dispose();
        }
    }
}

/// <summary>
/// One read connection and its prepared commands. Every command carries the same parameter set, so a
/// statement may use any of them and the caller binds them all.
/// </summary>
internal sealed class SearchReadSession : IDisposable
{
    public const string Term = "@term";
    public const string Upper = "@upper";
    public const string Length = "@length";
    public const string Match = "@match";
    public const string NameMatch = "@name";
    public const string DescriptionOnlyMatch = "@descriptionOnly";
    public const string Limit = "@limit";
    public const string Offset = "@offset";
    public const string Mask = "@mask";
    public const string After = "@after";

    private static readonly (string Name, SqliteType Type)[] Parameters =
    [
        (Term, SqliteType.Text), (Upper, SqliteType.Text), (Length, SqliteType.Integer), (Match, SqliteType.Text),
        (NameMatch, SqliteType.Text), (DescriptionOnlyMatch, SqliteType.Text), (Limit, SqliteType.Integer),
        (Offset, SqliteType.Integer), (Mask, SqliteType.Integer), (After, SqliteType.Integer),
    ];

    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    private SearchReadSession(SqliteConnection connection) => Connection = connection;

    public SqliteConnection Connection { get; }

    public static SearchReadSession Open(string connectionString) => new(OpenConnection(connectionString));

    /// <summary>A connection for reading only, with the settings of every search connection.</summary>
    public static SqliteConnection OpenConnection(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using var settings = connection.CreateCommand();
            // Applied once for the life of the connection. Memory-mapped reads share the OS page cache
            // between all connections and spare a read() call per page; query_only guards against a
            // write slipping onto a connection that is never in a write transaction.
            settings.CommandText =
                $"PRAGMA busy_timeout = {(int)SqliteIndexDatabase.BusyTimeoutMilliseconds}; " +
                "PRAGMA mmap_size = 2147418112; PRAGMA query_only = 1;";
            settings.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The prepared command for <paramref name="sql"/>, created on first use, inside <paramref name="snapshot"/>.</summary>
    public SqliteCommand Command(string sql, SqliteTransaction snapshot)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, type) in Parameters)
            {
                command.Parameters.Add(name, type);
            }

            _commands.Add(sql, command);
        }

        command.Transaction = snapshot;
        return command;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        Connection.Dispose();
    }
}
