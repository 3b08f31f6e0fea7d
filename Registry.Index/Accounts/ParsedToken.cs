using System.Text.RegularExpressions;

namespace Registry.Index.Accounts;

/// <summary>The fields of a <c>Token …</c> authorization value (Docker Registry and Index spec, 'Tokens'), parsed leniently.</summary>
public sealed partial record ParsedToken(string Signature, string Repository, string Access, long Expires, string User)
{
    /// <summary>
    /// Reads <c>Token signature=…,repository="ns/repo",access=…</c> as clients send it, including the doubled
    /// <c>Token Token …</c> prefix and several comma-joined tokens; null when it is not a token or lacks a field.
    /// </summary>
    public static ParsedToken? Parse(string authorization)
    {
        if (Fields(authorization) is not { } fields || !fields.TryGetValue("signature", out var signature)
            || !fields.TryGetValue("repository", out var repository) || !fields.TryGetValue("access", out var access)
            || !fields.TryGetValue("expires", out var expiresText) || !long.TryParse(expiresText, out var expires))
            return null;
        return DecodeName(repository) is { } name
            ? new ParsedToken(signature, name, access, expires, fields.GetValueOrDefault("user") ?? "")
            : null;
    }

    /// <summary>
    /// Reads a token of another index, which only that index can verify: the original's three fields
    /// (<c>signature</c>, <c>repository</c>, <c>access</c>); <see cref="Expires"/> is 0 and <see cref="User"/> empty,
    /// because the index judges them. Null when it is not a token or lacks one of the three.
    /// </summary>
    public static ParsedToken? ParseForeign(string authorization)
    {
        if (Fields(authorization) is not { } fields || !fields.TryGetValue("signature", out var signature)
            || !fields.TryGetValue("repository", out var repository) || !fields.TryGetValue("access", out var access))
            return null;
        return DecodeName(repository) is { } name ? new ParsedToken(signature, name, access, 0, "") : null;
    }

    private static Dictionary<string, string>? Fields(string authorization)
    {
        var space = authorization.IndexOf(' ');
        if (space <= 0 || !authorization[..space].Equals("token", StringComparison.OrdinalIgnoreCase)) return null;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Field().Matches(authorization))
            fields.TryAdd(m.Groups[1].Value, m.Groups[2].Value);
        return fields;
    }

    /// <summary>
    /// The repository name as it travels in a token header: printable ASCII stays, every other UTF-8 byte and
    /// '%', '"', ',' and space become %XX. Header values cannot carry non-ASCII or control characters, and the
    /// quotes and commas delimit the token's fields; escaping '%' too keeps the mapping one-to-one.
    /// </summary>
    public static string EncodeName(string name)
    {
        var sb = new System.Text.StringBuilder(name.Length);
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(name))
        {
            if (b is > 0x20 and < 0x7F && b is not ((byte)'%' or (byte)'"' or (byte)','))
                sb.Append((char)b);
            else
                sb.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>The inverse of <see cref="EncodeName"/>; null when the text is not in that form.</summary>
    public static string? DecodeName(string text)
    {
        var bytes = new List<byte>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '%')
            {
                if (text[i] > 0x7E) return null;
                bytes.Add((byte)text[i]);
                continue;
            }
            if (i + 2 >= text.Length || !byte.TryParse(text.AsSpan(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var b)) return null;
            bytes.Add(b);
            i += 2;
        }
        try
        {
            return new System.Text.UTF8Encoding(false, true).GetString(bytes.ToArray());
        }
        catch (System.Text.DecoderFallbackException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"(\w+)[:=][\s""]?([^"",]+)""?", RegexOptions.CultureInvariant)]
    private static partial Regex Field();
}
