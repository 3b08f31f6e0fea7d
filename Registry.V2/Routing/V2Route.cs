namespace Registry.V2.Routing;

/// <summary>The routes of <see cref="V2Routes"/>, one per path shape.</summary>
public enum V2RouteKind { Base, Catalog, Tags, Manifest, Blob, UploadStart, Upload, Referrers }

/// <summary>
/// A request path under <c>/v2/</c> split into its route (OCI distribution-spec v1.1, 'Endpoints'). <see cref="Name"/> and
/// <see cref="Reference"/> (tag, digest or upload id) are not validated here.
/// </summary>
public sealed record V2Route(V2RouteKind Kind, string Name = "", string Reference = "")
{
    public const string Prefix = "/v2";

    public static bool IsV2Path(string? path) =>
        path is not null && path.StartsWith(Prefix, StringComparison.Ordinal) && (path.Length == Prefix.Length || path[Prefix.Length] == '/');

    /// <summary>The route of a request path (as <c>HttpRequest.Path</c> gives it), or null when no route matches.</summary>
    public static V2Route? Parse(string path) => V2Routes.Match(path);
}
