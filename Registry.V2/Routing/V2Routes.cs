using Registry.V2.Base;
using Registry.V2.Blobs;
using Registry.V2.Catalog;
using Registry.V2.Manifests;
using Registry.V2.Referrers;
using Registry.V2.Tags;
using Registry.V2.Uploads;
using static Registry.V2.Routing.V2Endpoint;
using static Registry.V2.Routing.V2RequiredAccess;

namespace Registry.V2.Routing;

/// <summary>
/// Every route of the v2 API (Docker Registry HTTP API V2, "Detail"; OCI distribution-spec, "Endpoints"): its
/// path shape, its methods, the access each method requires and the handler method that serves it.
/// <see cref="V2Dispatcher"/> answers from this table alone; a path no route matches is 404 UNSUPPORTED and a
/// method a route does not list is 405 with <c>Allow</c>.
/// </summary>
public static class V2Routes
{
    /// <summary>
    /// The routes in matching order: the first whose shape matches a path wins. Blob uploads come before blobs,
    /// so that <c>/v2/x/blobs/uploads</c> starts an upload in <c>x</c> rather than naming the blob <c>uploads</c>.
    /// Reading is pull; deleting a manifest, tag or blob is delete; every other write is pull and push, and so is
    /// cancelling an upload (the access distribution asks for, rather than delete).
    /// </summary>
    public static readonly IReadOnlyList<V2RouteDefinition> All =
    [
        new(V2RouteKind.Base, "/v2/",
            Of<BaseHandler>("GET", Authenticated, (h, c, r, ct) => Task.FromResult(h.Get(c))),
            Of<BaseHandler>("HEAD", Authenticated, (h, c, r, ct) => Task.FromResult(h.Get(c)))),

        new(V2RouteKind.Catalog, "/v2/_catalog",
            Of<CatalogHandler>("GET", ListCatalog, (h, c, r, ct) => h.ListAsync(c, ct))),

        new(V2RouteKind.Tags, "/v2/<name>/tags/list",
            Of<TagsHandler>("GET", Pull, (h, c, r, ct) => h.ListAsync(c, r.Name, ct))),

        new(V2RouteKind.Manifest, "/v2/<name>/manifests/<reference>",
            Of<ManifestHandler>("GET", Pull, (h, c, r, ct) => h.GetAsync(c, r.Name, r.Reference, ct)),
            Of<ManifestHandler>("HEAD", Pull, (h, c, r, ct) => h.GetAsync(c, r.Name, r.Reference, ct)),
            Of<ManifestHandler>("PUT", PullPush, (h, c, r, ct) => h.PutAsync(c, r.Name, r.Reference, ct)),
            Of<ManifestHandler>("DELETE", Delete, (h, c, r, ct) => h.DeleteAsync(c, r.Name, r.Reference, ct))),

        new(V2RouteKind.UploadStart, "/v2/<name>/blobs/uploads/",
            Of<UploadHandler>("POST", PullPush, (h, c, r, ct) => h.StartAsync(c, r.Name, ct))),

        new(V2RouteKind.Upload, "/v2/<name>/blobs/uploads/<uuid>",
            Of<UploadHandler>("GET", Pull, (h, c, r, ct) => h.StatusAsync(c, r.Name, r.Reference, ct)),
            Of<UploadHandler>("HEAD", Pull, (h, c, r, ct) => h.StatusAsync(c, r.Name, r.Reference, ct)),
            Of<UploadHandler>("PATCH", PullPush, (h, c, r, ct) => h.PatchAsync(c, r.Name, r.Reference, ct)),
            Of<UploadHandler>("PUT", PullPush, (h, c, r, ct) => h.PutAsync(c, r.Name, r.Reference, ct)),
            Of<UploadHandler>("DELETE", PullPush, (h, c, r, ct) => h.CancelAsync(c, r.Name, r.Reference, ct))),

        new(V2RouteKind.Blob, "/v2/<name>/blobs/<digest>",
            Of<BlobHandler>("GET", Pull, (h, c, r, ct) => h.GetAsync(c, r.Name, r.Reference, ct)),
            Of<BlobHandler>("HEAD", Pull, (h, c, r, ct) => h.GetAsync(c, r.Name, r.Reference, ct)),
            Of<BlobHandler>("DELETE", Delete, (h, c, r, ct) => h.DeleteAsync(c, r.Name, r.Reference, ct))),

        new(V2RouteKind.Referrers, "/v2/<name>/referrers/<digest>",
            Of<ReferrersHandler>("GET", Pull, (h, c, r, ct) => h.ListAsync(c, r.Name, r.Reference, ct))),
    ];

    /// <summary>The route of a request path (as <c>HttpRequest.Path</c> gives it), or null when no route matches.</summary>
    public static V2Route? Match(string path)
    {
        if (!V2Route.IsV2Path(path)) return null;
        var p = path.Length <= V2Route.Prefix.Length + 1 ? "" : path[(V2Route.Prefix.Length + 1)..];
        foreach (var definition in All)
            if (definition.Match(p) is { } route)
                return route;
        return null;
    }

    /// <summary>The handler classes the table names, each registered once as a singleton.</summary>
    public static IEnumerable<Type> HandlerTypes => All.SelectMany(r => r.Endpoints).Select(e => e.Handler).Distinct();
}
