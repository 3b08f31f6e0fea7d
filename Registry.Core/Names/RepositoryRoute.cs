using System.Text;
using System.Text.RegularExpressions;

namespace Registry.Core.Names;

/// <summary>What follows <c>/v1/repositories/{repo}</c> (docs/client-behaviour.md, 'V1 routing').</summary>
public enum RepositoryRouteKind
{
    TagJson,
    Tag,
    Tags,
    Images,
    Properties,
    Auth,
    Json,
    /// <summary><c>/v1/repositories/{repo}/webhooks</c> (docs/operating.md, 'Repository webhooks').</summary>
    Webhooks,
    /// <summary><c>/v1/repositories/{repo}/webhooks/{id}</c>; the id is in <see cref="RepositoryRoute.Tag"/>.</summary>
    Webhook,
    /// <summary>
    /// <c>/v1/repositories/{ns}/{repo}/star</c> (README, 'Stars, comments and descriptions'). The Hub suffixes need
    /// the two-part name, so that a one-part name never turns a repository called "star" or "comments" into one.
    /// </summary>
    Star,
    /// <summary><c>/v1/repositories/{ns}/{repo}/stargazers</c>.</summary>
    Stargazers,
    /// <summary><c>/v1/repositories/{ns}/{repo}/comments</c>.</summary>
    Comments,
    /// <summary><c>/v1/repositories/{ns}/{repo}/comments/{id}</c>; the id is in <see cref="RepositoryRoute.Tag"/>.</summary>
    Comment,
    /// <summary><c>/v1/repositories/{repo}/</c>: repository delete, index repository PUT.</summary>
    RootSlash,
    /// <summary><c>/v1/repositories/{repo}</c> without a trailing slash.</summary>
    Root,
}

/// <summary>
/// A parsed <c>/v1/repositories/...</c> path. The repository part is matched lazily (shortest prefix that
/// lets the most specific suffix match), exactly as the original's router does. <see cref="Name"/> is null
/// when the repository part is not a valid name; <see cref="Error"/> then says why.
/// </summary>
public sealed partial record RepositoryRoute(RepositoryRouteKind Kind, RepositoryName? Name, string? Tag, string? Error)
{
    public const string Prefix = "/v1/repositories/";

    private static readonly (Regex Pattern, RepositoryRouteKind Kind)[] Rules =
    [
        (TagJsonRule(), RepositoryRouteKind.TagJson),
        (TagRule(), RepositoryRouteKind.Tag),
        (TagsRule(), RepositoryRouteKind.Tags),
        (ImagesRule(), RepositoryRouteKind.Images),
        (PropertiesRule(), RepositoryRouteKind.Properties),
        (AuthRule(), RepositoryRouteKind.Auth),
        (JsonRule(), RepositoryRouteKind.Json),
        (WebhooksRule(), RepositoryRouteKind.Webhooks),
        (WebhookRule(), RepositoryRouteKind.Webhook),
        (StarRule(), RepositoryRouteKind.Star),
        (StargazersRule(), RepositoryRouteKind.Stargazers),
        (CommentsRule(), RepositoryRouteKind.Comments),
        (CommentRule(), RepositoryRouteKind.Comment),
        (RootSlashRule(), RepositoryRouteKind.RootSlash),
        (RootRule(), RepositoryRouteKind.Root),
    ];

    /// <summary>Parses a percent-decoded path that starts with <see cref="Prefix"/>; null when it does not.</summary>
    public static RepositoryRoute? Parse(string decodedPath)
    {
        if (!decodedPath.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var rest = decodedPath[Prefix.Length..];
        foreach (var (pattern, kind) in Rules)
        {
            var m = pattern.Match(rest);
            if (!m.Success) continue;
            var tag = m.Groups["tag"].Success ? m.Groups["tag"].Value : null;
            return RepositoryName.TryParse(m.Groups["repo"].Value, out var name, out var error)
                ? new RepositoryRoute(kind, name, tag, null)
                : new RepositoryRoute(kind, null, tag, error);
        }
        return null;
    }

    /// <summary>
    /// Decodes a raw request target's path exactly once (so "%2F" is '/', "%252F" is the text "%2F").
    /// Returns null when the bytes are not valid UTF-8.
    /// </summary>
    public static string? DecodePath(string rawTarget)
    {
        var path = rawTarget;
        var q = path.IndexOf('?');
        if (q >= 0) path = path[..q];
        if (path.IndexOf('%') < 0) return path;
        var bytes = new byte[Encoding.UTF8.GetByteCount(path)];
        var n = 0;
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '%' && i + 2 < path.Length && Uri.IsHexDigit(path[i + 1]) && Uri.IsHexDigit(path[i + 2]))
            {
                bytes[n++] = (byte)Convert.ToInt32(path.Substring(i + 1, 2), 16);
                i += 2;
            }
            else
            {
                // A character outside the BMP is two chars; encoding them one by one would yield U+FFFD twice.
                var length = char.IsHighSurrogate(c) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1]) ? 2 : 1;
                n += Encoding.UTF8.GetBytes(path.AsSpan(i, length), bytes.AsSpan(n));
                i += length - 1;
            }
        }
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes, 0, n);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"\A(?<repo>.+?)/tags/(?<tag>[^/]+)/json\z", RegexOptions.Singleline)]
    private static partial Regex TagJsonRule();

    [GeneratedRegex(@"\A(?<repo>.+?)/tags/(?<tag>[^/]+)\z", RegexOptions.Singleline)]
    private static partial Regex TagRule();

    [GeneratedRegex(@"\A(?<repo>.+?)/tags/?\z", RegexOptions.Singleline)]
    private static partial Regex TagsRule();

    [GeneratedRegex(@"\A(?<repo>.+?)/images/?\z", RegexOptions.Singleline)]
    private static partial Regex ImagesRule();

    [GeneratedRegex(@"\A(?<repo>.+?)/properties/?\z", RegexOptions.Singleline)]
    private static partial Regex PropertiesRule();

    [GeneratedRegex(@"\A(?<repo>.+?)/auth/?\z", RegexOptions.Singleline)]
    private static partial Regex AuthRule();

    [GeneratedRegex(@"\A(?<repo>.+?)/json/?\z", RegexOptions.Singleline)]
    private static partial Regex JsonRule();

    [GeneratedRegex(@"\A(?<repo>.+?)/webhooks/?\z", RegexOptions.Singleline)]
    private static partial Regex WebhooksRule();

    [GeneratedRegex(@"\A(?<repo>.+?)/webhooks/(?<tag>[^/]+)\z", RegexOptions.Singleline)]
    private static partial Regex WebhookRule();

    [GeneratedRegex(@"\A(?<repo>[^/]+/.+?)/star/?\z", RegexOptions.Singleline)]
    private static partial Regex StarRule();

    [GeneratedRegex(@"\A(?<repo>[^/]+/.+?)/stargazers/?\z", RegexOptions.Singleline)]
    private static partial Regex StargazersRule();

    [GeneratedRegex(@"\A(?<repo>[^/]+/.+?)/comments/?\z", RegexOptions.Singleline)]
    private static partial Regex CommentsRule();

    [GeneratedRegex(@"\A(?<repo>[^/]+/.+?)/comments/(?<tag>[^/]+)\z", RegexOptions.Singleline)]
    private static partial Regex CommentRule();

    [GeneratedRegex(@"\A(?<repo>.+?)/\z", RegexOptions.Singleline)]
    private static partial Regex RootSlashRule();

    [GeneratedRegex(@"\A(?<repo>.+)\z", RegexOptions.Singleline)]
    private static partial Regex RootRule();
}
