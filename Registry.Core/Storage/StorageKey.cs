using System.Text;

namespace Registry.Core.Storage;

/// <summary>
/// The key rules every driver enforces, so a key that works on one driver works on all of them and a key
/// can never address anything outside the store: relative, '/'-separated, no empty, "." or ".." segment,
/// no backslash, no control character, no lone surrogate, at most 255 UTF-8 bytes per segment, and no
/// segment that looks like a driver's temp file.
/// </summary>
public static class StorageKey
{
    /// <summary>
    /// The prefix of in-flight temp files. '~' is escaped by <see cref="Names.NameEscaping.QuotePlus"/>, so no name that
    /// <see cref="StoragePaths"/> produces can start with it; keys that do are rejected anyway.
    /// </summary>
    public const string TempPrefix = ".regtmp~";

    /// <summary>Most file systems stop a path component at 255 bytes.</summary>
    public const int MaxSegmentBytes = 255;

    /// <summary>Throws <see cref="StoragePathException"/> when <paramref name="key"/> breaks a rule.</summary>
    public static void Validate(string? key)
    {
        if (string.IsNullOrEmpty(key)) throw new StoragePathException("Storage key is empty");
        var start = 0;
        while (true)
        {
            var slash = key.IndexOf('/', start);
            var end = slash < 0 ? key.Length : slash;
            var error = SegmentError(key.AsSpan(start, end - start));
            if (error is not null) throw new StoragePathException($"Invalid storage key '{Printable(key)}': {error}");
            if (slash < 0) return;
            start = slash + 1;
        }
    }

    /// <summary>True when <paramref name="segment"/> may appear as one component of a key.</summary>
    public static bool IsValidSegment(ReadOnlySpan<char> segment) => SegmentError(segment) is null;

    /// <summary>True for the name of a driver temp file (never a valid segment).</summary>
    public static bool IsTempName(ReadOnlySpan<char> name) => name.StartsWith(TempPrefix, StringComparison.Ordinal);

    private static string? SegmentError(ReadOnlySpan<char> segment)
    {
        if (segment.Length == 0) return "empty segment (leading, trailing or double '/')";
        if (segment is "." or "..") return "'.' and '..' segments are not allowed";
        if (IsTempName(segment)) return $"segments starting with '{TempPrefix}' are reserved";
        for (var i = 0; i < segment.Length; i++)
        {
            var c = segment[i];
            if (c == '\\') return "backslash is not allowed";
            if (char.IsControl(c)) return "control characters are not allowed";
            if (char.IsHighSurrogate(c) && i + 1 < segment.Length && char.IsLowSurrogate(segment[i + 1])) i++;
            else if (char.IsSurrogate(c)) return "lone surrogate";
        }
        if (Encoding.UTF8.GetByteCount(segment) > MaxSegmentBytes) return $"segment longer than {MaxSegmentBytes} bytes";
        return null;
    }

    // The key may hold a NUL or a newline; keep log lines and messages on one line.
    private static string Printable(string key)
    {
        var sb = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            if (char.IsControl(c)) sb.Append("\\u").Append(((int)c).ToString("x4"));
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
