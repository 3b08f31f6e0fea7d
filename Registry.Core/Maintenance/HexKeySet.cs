using Registry.Core.Distribution;

namespace Registry.Core.Maintenance;

/// <summary>
/// A set of names that are mostly lowercase hex of up to 64 characters (V1 image ids, sha256 digests), held as their
/// bytes: a 64-character id as a string costs about 150 bytes plus the set's entry, as a key 40. A collection's mark
/// sets hold one entry per referenced image or blob, so they are the part of its memory that grows with the storage.
/// Anything else (other lengths, uppercase, other algorithms) is held as its string, so the set answers exactly as a
/// set of strings would.
/// </summary>
public sealed class HexKeySet
{
    private readonly HashSet<HexKey> _keys = [];
    private readonly HashSet<string> _others = new(StringComparer.Ordinal);

    public int Count => _keys.Count + _others.Count;

    public bool Add(string name) => HexKey.TryCreate(name, 0, out var key) ? _keys.Add(key) : _others.Add(name);

    public bool Contains(string name) => HexKey.TryCreate(name, 0, out var key) ? _keys.Contains(key) : _others.Contains(name);

    /// <summary>A digest: sha256 as a key (tagged so it never equals an image id of the same hex), others as their text.</summary>
    public bool Add(Digest digest) => DigestKey(digest, out var key) ? _keys.Add(key) : _others.Add(digest.ToString());

    public bool Contains(Digest digest) => DigestKey(digest, out var key) ? _keys.Contains(key) : _others.Contains(digest.ToString());

    public void UnionWith(IEnumerable<Digest> digests)
    {
        foreach (var digest in digests) Add(digest);
    }

    private const int Sha256Tag = 1;

    private static bool DigestKey(Digest digest, out HexKey key)
    {
        key = default;
        return digest.Algorithm == "sha256" && HexKey.TryCreate(digest.Hex, Sha256Tag, out key);
    }

    /// <summary>Up to 32 bytes of lowercase hex; <see cref="_length"/> keeps "0a" and "000a" apart, the tag the kind of name.</summary>
    private readonly struct HexKey : IEquatable<HexKey>
    {
        private readonly ulong _a, _b, _c, _d;
        private readonly int _length;

        private HexKey(ulong a, ulong b, ulong c, ulong d, int length)
        {
            _a = a;
            _b = b;
            _c = c;
            _d = d;
            _length = length;
        }

        public static bool TryCreate(string text, int tag, out HexKey key)
        {
            key = default;
            if (text.Length == 0 || text.Length > 64) return false;
            Span<ulong> words = stackalloc ulong[4];
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                int nibble;
                if (c is >= '0' and <= '9') nibble = c - '0';
                else if (c is >= 'a' and <= 'f') nibble = c - 'a' + 10;
                else return false;
                words[i / 16] = (words[i / 16] << 4) | (uint)nibble;
            }
            key = new HexKey(words[0], words[1], words[2], words[3], text.Length | (tag << 8));
            return true;
        }

        public bool Equals(HexKey other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d && _length == other._length;

        public override bool Equals(object? obj) => obj is HexKey other && Equals(other);

        public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d, _length);
    }
}
