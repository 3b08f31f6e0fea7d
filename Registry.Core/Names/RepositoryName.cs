using System.Text;

namespace Registry.Core.Names;

/// <summary>
/// A repository as the protocol names it (docs/client-behaviour.md, 'V1 names'): a namespace and a repository part that is
/// escaped once with <see cref="NameEscaping.QuotePlus"/>. <see cref="FullName"/> ("ns/repo") is the logical
/// name used by tokens and search; storage escapes each part once more.
/// </summary>
public sealed record RepositoryName(string Namespace, string Repository)
{
    /// <summary>The longest on-disk component we accept; most file systems stop at 255 bytes.</summary>
    public const int MaxComponentBytes = 255;

    public const string DefaultNamespace = "library";

    public string FullName => $"{Namespace}/{Repository}";

    public override string ToString() => FullName;

    /// <summary>The key under which writers to this repository serialise (tags, image lists, deletion).</summary>
    public string LockKey => "repo:" + FullName;

    /// <summary>
    /// Parses the percent-decoded repository part of a URL: trailing '/' stripped, split at the first '/',
    /// one component means the implicit <c>library</c> namespace.
    /// </summary>
    public static bool TryParse(string? decoded, out RepositoryName name, out string error)
    {
        name = null!;
        error = "Invalid repository name";
        if (decoded is null) return false;
        var s = decoded.TrimEnd('/');
        if (s.Length == 0) return false;
        foreach (var c in s)
            if (char.IsControl(c)) return false;

        var slash = s.IndexOf('/');
        string ns, repo;
        if (slash < 0) (ns, repo) = (DefaultNamespace, s);
        else (ns, repo) = (s[..slash], s[(slash + 1)..]);
        if (ns.Length == 0 || repo.Length == 0) return false;

        var logicalRepo = NameEscaping.QuotePlus(repo);
        if (Encoding.UTF8.GetByteCount(NameEscaping.EscapeComponent(ns)) > MaxComponentBytes
            || NameEscaping.EscapeComponent(logicalRepo).Length > MaxComponentBytes)
        {
            error = "Repository name too long";
            return false;
        }
        name = new RepositoryName(ns, logicalRepo);
        return true;
    }

    /// <summary>Parses a logical "ns/repo" name as stored in the search index or a token.</summary>
    public static RepositoryName FromLogical(string fullName)
    {
        var slash = fullName.IndexOf('/');
        return slash < 0
            ? new RepositoryName(DefaultNamespace, fullName)
            : new RepositoryName(fullName[..slash], fullName[(slash + 1)..]);
    }
}
