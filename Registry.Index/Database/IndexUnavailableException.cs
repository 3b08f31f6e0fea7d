namespace Registry.Index.Database;

/// <summary>
/// The index database server cannot be reached right now (down, restarting, connection lost). The request is not
/// at fault and a retry may succeed: the host answers 503 with <c>Retry-After</c>. Each backend turns its own
/// connection failures into this one type, so the host maps a single exception.
/// </summary>
public sealed class IndexUnavailableException(string location, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    /// <summary>Where the database is (host, port, database; never credentials).</summary>
    public string Location { get; } = location;
}
