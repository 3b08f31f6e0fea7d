using System.Net.Sockets;
using Npgsql;

namespace Registry.Index.Database.Postgres;

/// <summary>Which Npgsql failures mean the server is unreachable rather than that a statement is wrong.</summary>
internal static class PostgresFaults
{
    /// <summary>
    /// PostgreSQL error codes (PostgreSQL documentation, Appendix A "PostgreSQL Error Codes"): class 08 is a
    /// connection exception, 57P01..57P05 are the server shutting down or not accepting connections yet.
    /// </summary>
    public static bool IsUnavailable(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException n => n.IsTransient || n.InnerException is SocketException or IOException or TimeoutException,
        _ => false,
    };
}
