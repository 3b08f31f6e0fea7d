using System.Runtime.InteropServices;
using System.Text;

namespace Registry.Index.Database.Sqlite;

/// <summary>Per-term row counts kept for the terms a trigram index cannot answer.</summary>
internal struct TermCounts
{
    /// <summary>Rows whose name or description contains the term.</summary>
    public long Any;

    /// <summary>Rows whose name contains the term.</summary>
    public long Name;

    /// <summary>Rows whose name or repository part starts with the term.</summary>
    public long Prefix;

    public readonly bool IsZero => Any == 0 && Name == 0 && Prefix == 0;
}

/// <summary>
/// Counting for terms of 0-2 characters (Unicode scalar values, as SQLite and FTS5 count them). A trigram
/// index cannot count those, and a scan over a million rows takes far too long, so every write adjusts
/// one counter row per distinct short substring of the row; the empty term counts every row.
/// Terms are packed into a long while counting so that a bulk rebuild allocates no strings per row.
/// </summary>
internal static class ShortTermCounts
{
    public const int MaxLength = 2;

    /// <summary>Adds <paramref name="sign"/> times the row's contribution to <paramref name="counts"/>.</summary>
    public static void Add(
        Dictionary<long, TermCounts> counts, string nameLower, string repoLower, string descriptionLower, int sign,
        Scratch scratch)
    {
        scratch.Reset();
        scratch.Fill(scratch.Name, nameLower);
        scratch.Fill(scratch.Description, descriptionLower);

        scratch.Seen.Clear();
        scratch.Seen.Add(0);
        AddSubstrings(scratch.Name, scratch.Seen);
        foreach (var key in scratch.Seen)
        {
            Bump(counts, key).Name += sign;
        }

        AddSubstrings(scratch.Description, scratch.Seen);
        foreach (var key in scratch.Seen)
        {
            Bump(counts, key).Any += sign;
        }

        scratch.Seen.Clear();
        scratch.Seen.Add(0);
        AddPrefixes(scratch.Name, scratch.Seen);
        scratch.Fill(scratch.Description, repoLower);
        AddPrefixes(scratch.Description, scratch.Seen);
        foreach (var key in scratch.Seen)
        {
            Bump(counts, key).Prefix += sign;
        }
    }

    /// <summary>The stored text of a packed term.</summary>
    public static string Decode(long key)
    {
        var length = (int)(key >> 42);
        var builder = new StringBuilder(4);
        if (length >= 1)
        {
            builder.Append(new Rune((int)((key >> 21) & 0x1FFFFF)).ToString());
        }

        if (length == 2)
        {
            builder.Append(new Rune((int)(key & 0x1FFFFF)).ToString());
        }

        return builder.ToString();
    }

    /// <summary>Length of <paramref name="text"/> in Unicode scalar values (SQLite's character count).</summary>
    public static int RuneLength(string text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes())
        {
            count++;
        }

        return count;
    }

    private static ref TermCounts Bump(Dictionary<long, TermCounts> counts, long key) =>
        ref CollectionsMarshal.GetValueRefOrAddDefault(counts, key, out _);

    private static void AddSubstrings(List<int> runes, HashSet<long> into)
    {
        for (var i = 0; i < runes.Count; i++)
        {
            into.Add(Pack(1, runes[i], 0));
            if (i + 1 < runes.Count)
            {
                into.Add(Pack(2, runes[i], runes[i + 1]));
            }
        }
    }

    private static void AddPrefixes(List<int> runes, HashSet<long> into)
    {
        if (runes.Count >= 1)
        {
            into.Add(Pack(1, runes[0], 0));
        }

        if (runes.Count >= 2)
        {
            into.Add(Pack(2, runes[0], runes[1]));
        }
    }

    private static long Pack(int length, int first, int second) =>
        ((long)length << 42) | ((long)first << 21) | (uint)second;

    /// <summary>Buffers reused across rows.</summary>
    internal sealed class Scratch
    {
        public readonly List<int> Name = [];
        public readonly List<int> Description = [];
        public readonly HashSet<long> Seen = [];

        public void Reset()
        {
            Name.Clear();
            Description.Clear();
        }

        public void Fill(List<int> runes, string text)
        {
            runes.Clear();
            foreach (var rune in text.EnumerateRunes())
            {
                runes.Add(rune.Value);
            }
        }
    }
}
