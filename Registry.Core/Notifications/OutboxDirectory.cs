using System.Text;
using Registry.Core.Configuration;

namespace Registry.Core.Notifications;

/// <summary>
/// The queues of this process: one numbered slot folder under <c>notifications.outbox</c>, held by an exclusive lock
/// for as long as the process runs, with one <see cref="EventOutbox"/> per enabled endpoint. A process takes the
/// lowest free slot, so a restarted registry resumes the queues its predecessor left, and several instances that
/// share the directory each own a slot (docs/operating.md, 'Notifications').
/// </summary>
public sealed class OutboxDirectory : IDisposable
{
    private const string LockFile = "lock";
    private const int MaxSlots = 1024;
    private readonly FileStream _lock;

    public OutboxDirectory(NotificationSettings settings)
        : this(settings.OutboxPath ?? throw new InvalidOperationException("notifications are off"), settings.Endpoints.Where(e => !e.Disabled).Select(e => e.Name))
    {
    }

    /// <summary>Takes a slot under <paramref name="root"/> with one queue per name.</summary>
    public OutboxDirectory(string root, IEnumerable<string> queues)
    {
        (Slot, _lock) = TakeSlot(root);
        Queues = queues.ToDictionary(name => name, name => new EventOutbox(Path.Combine(Slot, FolderName(name))), StringComparer.Ordinal);
    }

    /// <summary>The slot folder this process owns.</summary>
    public string Slot { get; }

    /// <summary>The queue of each enabled endpoint, by name.</summary>
    public IReadOnlyDictionary<string, EventOutbox> Queues { get; }

    public void Dispose() => _lock.Dispose();

    private static (string Slot, FileStream Lock) TakeSlot(string root)
    {
        for (var i = 0; i < MaxSlots; i++)
        {
            var slot = Path.Combine(root, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(slot);
            try
            {
                // .NET holds FileShare.None with an exclusive advisory lock (flock) on Unix: another process cannot take it.
                return (slot, new FileStream(Path.Combine(slot, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException)
            {
            }
        }
        throw new IOException($"all {MaxSlots} outbox slots under {root} are held by running processes");
    }

    /// <summary>The endpoint name as a folder name: letters, digits, '.', '-' and '_' kept, other bytes as %XX.</summary>
    public static string FolderName(string name)
    {
        var folder = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' || (c == '.' && folder.Length > 0)) folder.Append(c);
            else folder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return folder.ToString();
    }
}
