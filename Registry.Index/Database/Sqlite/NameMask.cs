namespace Registry.Index.Database.Sqlite;

/// <summary>
/// A 63-bit set of the characters present in a lower-cased name: one bit of its own for each character a
/// repository name may hold (a-z, 0-9, '-', '_', '.', '/'), the rest of Unicode folded onto 23 shared bits.
/// A name can contain a term only if its mask holds every bit of the term's mask, so a walk tests the bits
/// first and runs the exact substring test only on the rows that pass. The stored value -1 (every bit) means
/// "not known", which lets every row through.
/// </summary>
internal static class NameMask
{
    public const long Unknown = -1;

    public static long Of(string text)
    {
        long mask = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            mask |= Bit(rune.Value);
        }

        return mask;
    }

    private static long Bit(int value) => value switch
    {
        >= 'a' and <= 'z' => 1L << (value - 'a'),
        >= '0' and <= '9' => 1L << (26 + value - '0'),
        '-' => 1L << 36,
        '_' => 1L << 37,
        '.' => 1L << 38,
        '/' => 1L << 39,
        _ => 1L << (40 + value % 23),
    };
}
