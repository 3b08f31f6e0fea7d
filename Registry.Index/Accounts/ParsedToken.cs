using System.Text.RegularExpressions;

namespace Registry.Index.Accounts;

/// <summary>The fields of a <c>Token …</c> authorization value (spec §6.2), parsed leniently.</summary>
public sealed partial record ParsedToken(string Signature, string Repository, string Access, long Expires, string User)
{
    /// <summary>
    /// Reads <c>Token signature=…,repository="ns/repo",access=…</c> as clients send it, including the doubled
    /// <c>Token Token …</c> prefix and several comma-joined tokens; null when it is not a token or lacks a field.
    /// </summary>
    public static ParsedToken? Parse(string authorization)
    {
        var space = authorization.IndexOf(' ');
        if (space <= 0 || !authorization[..space].Equals("token", StringComparison.OrdinalIgnoreCase)) return null;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in Field().Matches(authorization))
            fields.TryAdd(m.Groups[1].Value, m.Groups[2].Value);
        if (!fields.TryGetValue("signature", out var signature) || !fields.TryGetValue("repository", out var repository)
            || !fields.TryGetValue("access", out var access) || !fields.TryGetValue("expires", out var expiresText)
            || !long.TryParse(expiresText, out var expires))
            return null;
        return new ParsedToken(signature, repository, access, expires, fields.GetValueOrDefault("user") ?? "");
    }

    [GeneratedRegex(@"(\w+)[:=][\s""]?([^"",]+)""?", RegexOptions.CultureInvariant)]
    private static partial Regex Field();
}
