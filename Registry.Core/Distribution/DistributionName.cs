using System.Text.RegularExpressions;

namespace Registry.Core.Distribution;

/// <summary>
/// The v2 repository name and tag grammar (OCI distribution-spec v1.1, 'Pull': the <name> and <reference> grammars). A name that passes <see cref="IsValid"/> has
/// no empty, dot-only or underscore-led components, so it can be used as a storage path as is.
/// </summary>
public static partial class DistributionName
{
    public const int MaxLength = 255;

    public static bool IsValid(string? name) => name is { Length: > 0 and <= MaxLength } && NamePattern().IsMatch(name);

    public static bool IsValidTag(string? tag) => tag is { Length: > 0 and <= 128 } && TagPattern().IsMatch(tag);

    [GeneratedRegex(@"\A[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"\A[A-Za-z0-9_][A-Za-z0-9._-]{0,127}\z", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();
}
