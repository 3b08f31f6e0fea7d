namespace Registry.V2.Routing;

public enum V2RouteKind { Base, Catalog, Tags, Manifest, Blob, UploadStart, Upload, Referrers }

/// <summary>
/// A request path under <c>/v2/</c> split into its route (v2 spec §1.1). The fixed suffix is matched at the
/// right end, so a name may contain <c>blobs</c>, <c>manifests</c>, <c>tags</c> or <c>uploads</c>.
/// <see cref="Name"/> and <see cref="Reference"/> (tag, digest or upload id) are not validated here.
/// </summary>
public sealed record V2Route(V2RouteKind Kind, string Name = "", string Reference = "")
{
    public const string Prefix = "/v2";

    public static bool IsV2Path(string? path) =>
        path is not null && path.StartsWith(Prefix, StringComparison.Ordinal) && (path.Length == Prefix.Length || path[Prefix.Length] == '/');

    /// <summary>The route of a request path (as <c>HttpRequest.Path</c> gives it), or null when no route matches.</summary>
    public static V2Route? Parse(string path)
    {
        if (!IsV2Path(path)) return null;
        var p = path.Length <= Prefix.Length + 1 ? "" : path[(Prefix.Length + 1)..];
        if (p.Length == 0) return new V2Route(V2RouteKind.Base);
        if (p is "_catalog" or "_catalog/") return new V2Route(V2RouteKind.Catalog);
        if (TrimSuffix(p, "/tags/list") is { } tagsName) return new V2Route(V2RouteKind.Tags, tagsName);
        if (TrimSuffix(p, "/blobs/uploads") is { } uploadName) return new V2Route(V2RouteKind.UploadStart, uploadName);

        var slash = p.LastIndexOf('/');
        if (slash <= 0 || slash == p.Length - 1) return null;
        var (rest, last) = (p[..slash], p[(slash + 1)..]);
        if (Strip(rest, "/blobs/uploads") is { } n1) return new V2Route(V2RouteKind.Upload, n1, last);
        if (Strip(rest, "/manifests") is { } n2) return new V2Route(V2RouteKind.Manifest, n2, last);
        if (Strip(rest, "/blobs") is { } n3) return new V2Route(V2RouteKind.Blob, n3, last);
        if (Strip(rest, "/referrers") is { } n4) return new V2Route(V2RouteKind.Referrers, n4, last);
        return null;
    }

    // "NAME/suffix" or "NAME/suffix/" -> NAME
    private static string? TrimSuffix(string p, string suffix)
    {
        if (p.EndsWith('/')) p = p[..^1];
        return Strip(p, suffix);
    }

    private static string? Strip(string p, string suffix) =>
        p.Length > suffix.Length && p.EndsWith(suffix, StringComparison.Ordinal) ? p[..^suffix.Length] : null;
}
