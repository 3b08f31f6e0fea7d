using System.Text;

namespace Registry.Core.Names;

/// <summary>
/// The original's on-disk escaping (docs/storage-layout.md, 'Name escaping'): <see cref="QuotePlus"/> is Python 2 <c>quote_plus</c> over UTF-8,
/// <see cref="EscapeComponent"/> additionally neutralises the path components "." and "..".
/// </summary>
public static class NameEscaping
{
    /// <summary>Keeps <c>A-Z a-z 0-9 _ . -</c>, turns space into '+', every other byte into %XX.</summary>
    public static string QuotePlus(string s)
    {
        if (IsPlain(s)) return s;
        var bytes = Encoding.UTF8.GetBytes(s);
        var sb = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (IsKept(b)) sb.Append((char)b);
            else if (b == (byte)' ') sb.Append('+');
            else sb.Append('%').Append(HexUpper[b >> 4]).Append(HexUpper[b & 0xF]);
        }
        return sb.ToString();
    }

    /// <summary>A path component as the original's storage layer writes it.</summary>
    public static string EscapeComponent(string s) => s switch
    {
        ".." => "%252E%252E",
        "." => "%252E",
        _ => QuotePlus(s),
    };

    /// <summary>Undoes one level of <see cref="QuotePlus"/> ('+' to space, %XX to bytes); invalid sequences stay as they are.</summary>
    public static string Unquote(string s)
    {
        if (s.IndexOf('%') < 0 && s.IndexOf('+') < 0) return s;
        var bytes = new List<byte>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '+') bytes.Add((byte)' ');
            else if (c == '%' && i + 2 < s.Length && IsHex(s[i + 1]) && IsHex(s[i + 2]))
            {
                bytes.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                // A character outside the BMP is two chars; encoding them one by one would yield U+FFFD twice.
                var length = char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
                bytes.AddRange(Encoding.UTF8.GetBytes(s.Substring(i, length)));
                i += length - 1;
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private const string HexUpper = "0123456789ABCDEF";

    private static bool IsHex(char c) => c is >= '0' and <= '9' or >= 'a' and <= 'f' or >= 'A' and <= 'F';

    private static bool IsKept(byte b) =>
        b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'_' or (byte)'.' or (byte)'-';

    private static bool IsPlain(string s)
    {
        foreach (var c in s)
            if (c > 127 || !IsKept((byte)c)) return false;
        return true;
    }
}
