namespace Registry.Index.Accounts;

/// <summary>
/// An htpasswd file of bcrypt lines (<c>user:$2y$…</c>, as <c>htpasswd -B</c> writes them). Re-read when its
/// modification time or size changes (checked at most once a second); a missing file means no users.
/// </summary>
public sealed class HtpasswdFile(string path, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly object _gate = new();
    private IReadOnlyDictionary<string, string> _users = new Dictionary<string, string>();
    private (DateTime Modified, long Size) _loaded = (DateTime.MinValue, -1);
    private long _nextCheck;

    public string Path => path;

    /// <summary>The bcrypt hash of <paramref name="user"/>, or null when the file does not list it.</summary>
    public string? HashOf(string user)
    {
        Refresh();
        return _users.GetValueOrDefault(user);
    }

    public bool Contains(string user) => HashOf(user) is not null;

    /// <summary>The users the file lists (bcrypt lines only, as <see cref="HashOf"/> accepts them), in ordinal order.</summary>
    public IReadOnlyList<string> UserNames()
    {
        Refresh();
        return _users.Keys.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>One line as <c>htpasswd -Bbn USER PASS</c> prints it (bcrypt, cost 10, <c>$2y$</c>).</summary>
    public static string Line(string user, string password) =>
        $"{user}:{BCrypt.Net.BCrypt.HashPassword(password, 10).Replace("$2a$", "$2y$", StringComparison.Ordinal)}";

    private void Refresh()
    {
        var now = _time.GetTimestamp();
        if (now < Interlocked.Read(ref _nextCheck)) return;
        lock (_gate)
        {
            if (now < _nextCheck) return;
            var info = new FileInfo(path);
            var stamp = info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1L);
            if (stamp != _loaded)
            {
                _users = info.Exists ? Parse(File.ReadAllLines(path)) : new Dictionary<string, string>();
                _loaded = stamp;
            }
            // Only now: a request that sees the next check in the future skips the lock, so the users must be loaded by then.
            Interlocked.Exchange(ref _nextCheck, now + _time.TimestampFrequency);
        }
    }

    private static Dictionary<string, string> Parse(IEnumerable<string> lines)
    {
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var hash = line[(colon + 1)..];
            if (!hash.StartsWith("$2", StringComparison.Ordinal)) continue; // only bcrypt is accepted
            users[line[..colon]] = hash;
        }
        return users;
    }
}
