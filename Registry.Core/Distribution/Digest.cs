using System.Security.Cryptography;

namespace Registry.Core.Distribution;

/// <summary>
/// A content digest <c>algorithm:hex</c> (Docker Registry HTTP API V2, 'Content Digests'). Only the algorithms this server can verify parse:
/// sha256 (canonical), sha384 and sha512, each with lower-case hex of its exact length. Anything else that is
/// well-formed is "unsupported", which the protocol reports like a malformed digest (400 DIGEST_INVALID).
/// Once parsed, a digest is safe to use in a storage path.
/// </summary>
public sealed record Digest(string Algorithm, string Hex)
{
    /// <summary>The digest of zero bytes.</summary>
    public static readonly Digest EmptySha256 = new("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    public override string ToString() => $"{Algorithm}:{Hex}";

    public static bool TryParse(string? text, out Digest digest)
    {
        digest = null!;
        if (text is null) return false;
        var colon = text.IndexOf(':');
        if (colon <= 0) return false;
        // The canonical algorithm's name is shared: a collection holds a digest per link and blob of the storage.
        var algorithm = text.AsSpan(0, colon) is "sha256" ? "sha256" : text[..colon];
        var hex = text[(colon + 1)..];
        var length = HexLength(algorithm);
        if (length == 0 || hex.Length != length) return false;
        foreach (var c in hex)
            if (c is not (>= '0' and <= '9' or >= 'a' and <= 'f')) return false;
        digest = new Digest(algorithm, hex);
        return true;
    }

    public static Digest? ParseOrNull(string? text) => TryParse(text, out var d) ? d : null;

    /// <summary>True for the algorithms <see cref="TryParse"/> accepts.</summary>
    public static bool IsSupportedAlgorithm(string algorithm) => HexLength(algorithm) != 0;

    /// <summary>An incremental hash of this digest's algorithm.</summary>
    public IncrementalHash CreateHash() => CreateHash(Algorithm);

    public static IncrementalHash CreateHash(string algorithm) => algorithm switch
    {
        "sha256" => IncrementalHash.CreateHash(HashAlgorithmName.SHA256),
        "sha384" => IncrementalHash.CreateHash(HashAlgorithmName.SHA384),
        "sha512" => IncrementalHash.CreateHash(HashAlgorithmName.SHA512),
        _ => throw new ArgumentException($"unsupported digest algorithm {algorithm}", nameof(algorithm)),
    };

    public static Digest FromHash(string algorithm, byte[] hash) => new(algorithm, Convert.ToHexStringLower(hash));

    /// <summary>The digest of <paramref name="content"/> with <paramref name="algorithm"/>.</summary>
    public static Digest Compute(string algorithm, ReadOnlySpan<byte> content)
    {
        using var hash = CreateHash(algorithm);
        hash.AppendData(content);
        return FromHash(algorithm, hash.GetHashAndReset());
    }

    private static int HexLength(string algorithm) => algorithm switch
    {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => 0,
    };
}
