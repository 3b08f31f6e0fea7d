using System.Text;

namespace Registry.Core.Notifications;

/// <summary>
/// The durable queue of one endpoint (docs/operating.md, 'Notifications'): a file of events, one JSON line each,
/// appended and fsynced before the request that caused them answers, and a cursor file holding the byte offset up to
/// which the endpoint has accepted them. Delivery reads from the cursor in order; once everything is delivered the
/// file is emptied. A line cut short by a crash is dropped when the queue is opened, so later appends stay whole.
/// </summary>
public sealed class EventOutbox
{
    private const string EventsFile = "events";
    private const string CursorFile = "cursor";
    private readonly object _gate = new();
    private readonly string _events;
    private readonly string _cursor;
    private long _delivered;
    private long _pending;

    public EventOutbox(string directory)
    {
        Directory.CreateDirectory(directory);
        _events = Path.Combine(directory, EventsFile);
        _cursor = Path.Combine(directory, CursorFile);
        using (var file = new FileStream(_events, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            var whole = LastLineEnd(file);
            if (whole < file.Length)
            {
                file.SetLength(whole);
                file.Flush(true);
            }
        }
        _delivered = ReadCursor();
        if (_delivered > new FileInfo(_events).Length) _delivered = 0;
        _pending = CountLines(_events, _delivered);
    }

    /// <summary>Events not yet accepted by the endpoint.</summary>
    public long PendingEvents
    {
        get { lock (_gate) return _pending; }
    }

    /// <summary>Bytes of events not yet accepted by the endpoint.</summary>
    public long PendingBytes
    {
        get { lock (_gate) return new FileInfo(_events).Length - _delivered; }
    }

    /// <summary>Appends the event and forces it to disk.</summary>
    public void Append(RegistryEvent e) => AppendLine(EventEnvelope.ToLine(e));

    /// <summary>Appends one line of JSON (no line break in it) and forces it to disk; other queues than events' use this.</summary>
    public void AppendLine(string json)
    {
        var line = Encoding.UTF8.GetBytes(json + "\n");
        lock (_gate)
        {
            using var file = new FileStream(_events, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            file.Write(line);
            file.Flush(true);
            _pending++;
        }
    }

    /// <summary>The oldest undelivered event and the offset just after it; null when the queue is empty.</summary>
    public (RegistryEvent? Event, long End)? Peek()
    {
        if (PeekLine() is not { } next) return null;
        RegistryEvent? parsed;
        try
        {
            parsed = EventEnvelope.FromLine(next.Line);
        }
        catch (System.Text.Json.JsonException)
        {
            parsed = null;
        }
        return (parsed, next.End);
    }

    /// <summary>The oldest undelivered line and the offset just after it; null when the queue is empty.</summary>
    public (string Line, long End)? PeekLine()
    {
        lock (_gate)
        {
            using var file = new FileStream(_events, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (_delivered >= file.Length) return null;
            file.Position = _delivered;
            var bytes = new List<byte>();
            int b;
            while ((b = file.ReadByte()) >= 0 && b != '\n') bytes.Add((byte)b);
            if (b < 0) return null;
            return (Encoding.UTF8.GetString(bytes.ToArray()), file.Position);
        }
    }

    /// <summary>Records that everything before <paramref name="end"/> was accepted; empties the file when nothing is left.</summary>
    public void Acknowledge(long end)
    {
        lock (_gate)
        {
            using (var file = new FileStream(_events, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
            {
                if (end >= file.Length)
                {
                    // Emptied before the cursor goes back to 0: a crash in between leaves a cursor past the end, read as 0.
                    file.SetLength(0);
                    file.Flush(true);
                    end = 0;
                }
            }
            WriteCursor(end);
            _delivered = end;
            // Each acknowledgement follows one Peek, so it covers one line.
            _pending = end == 0 ? 0 : Math.Max(0, _pending - 1);
        }
    }

    private static long CountLines(string path, long from)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        file.Position = from;
        long lines = 0;
        int b;
        while ((b = file.ReadByte()) >= 0)
            if (b == '\n') lines++;
        return lines;
    }

    private long ReadCursor()
    {
        try
        {
            return long.TryParse(File.ReadAllText(_cursor).Trim(), out var offset) && offset >= 0 ? offset : 0;
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
    }

    private void WriteCursor(long offset)
    {
        var temp = _cursor + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(Encoding.ASCII.GetBytes(offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            file.Flush(true);
        }
        File.Move(temp, _cursor, overwrite: true);
    }

    private static long LastLineEnd(FileStream file)
    {
        var position = file.Length;
        var buffer = new byte[4096];
        while (position > 0)
        {
            var start = Math.Max(0, position - buffer.Length);
            file.Position = start;
            var count = (int)(position - start);
            file.ReadExactly(buffer, 0, count);
            var last = Array.LastIndexOf(buffer, (byte)'\n', count - 1, count);
            if (last >= 0) return start + last + 1;
            position = start;
        }
        return 0;
    }
}
