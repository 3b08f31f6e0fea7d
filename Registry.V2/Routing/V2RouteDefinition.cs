using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Registry.V2.Access;

namespace Registry.V2.Routing;

/// <summary>What the dispatcher checks before a handler runs (Docker Registry HTTP API V2, "Authentication").</summary>
public enum V2Scope
{
    /// <summary>Any authenticated caller; anonymous ones are challenged so that docker sends credentials.</summary>
    Authenticated,

    /// <summary>The catalog: an authenticated caller, or anyone when anonymous reads are allowed.</summary>
    Catalog,

    /// <summary>Every one of <see cref="V2RequiredAccess.Actions"/> on the repository the path names.</summary>
    Repository,
}

/// <summary>The access a route's method requires.</summary>
public sealed record V2RequiredAccess(V2Scope Scope, IReadOnlyList<V2Action> Actions)
{
    public static readonly V2RequiredAccess Authenticated = new(V2Scope.Authenticated, []);
    public static readonly V2RequiredAccess ListCatalog = new(V2Scope.Catalog, []);
    public static readonly V2RequiredAccess Pull = new(V2Scope.Repository, [V2Action.Pull]);
    public static readonly V2RequiredAccess PullPush = new(V2Scope.Repository, [V2Action.Pull, V2Action.Push]);
    public static readonly V2RequiredAccess Delete = new(V2Scope.Repository, [V2Action.Delete]);
}

/// <summary>Serves one method of one route once the dispatcher's checks have passed.</summary>
public delegate Task<IResult> V2Handle(HttpContext context, V2Route route, CancellationToken ct);

/// <summary>
/// One method of a route: the access it requires and the handler method that serves it. The handler class is a
/// singleton of the host's container; <see cref="Bind"/> resolves it once, when the dispatcher is built.
/// </summary>
public sealed record V2Endpoint(string Method, V2RequiredAccess Access, Type Handler, Func<IServiceProvider, V2Handle> Bind)
{
    public static V2Endpoint Of<THandler>(
        string method, V2RequiredAccess access, Func<THandler, HttpContext, V2Route, CancellationToken, Task<IResult>> handle)
        where THandler : notnull =>
        new(method, access, typeof(THandler), services =>
        {
            var handler = services.GetRequiredService<THandler>();
            return (context, route, ct) => handle(handler, context, route, ct);
        });
}

/// <summary>
/// A route of the v2 API: its kind, its path shape and its methods. The shape is one of
/// <c>/v2/</c> (exactly), <c>/v2/literal</c>, <c>/v2/&lt;name&gt;/suffix</c> (both with an optional trailing
/// slash) or <c>/v2/&lt;name&gt;/suffix/&lt;reference&gt;</c>, where the reference is the last path segment.
/// The suffix is matched at the right end, so a name may itself contain <c>blobs</c>, <c>manifests</c>,
/// <c>tags</c> or <c>uploads</c>.
/// </summary>
public sealed class V2RouteDefinition
{
    private const string NameParameter = "<name>";
    private readonly string _literal = "";
    private readonly string _suffix = "";
    private readonly ShapeKind _shape;

    private enum ShapeKind { Root, Literal, Name, NameAndReference }

    public V2RouteDefinition(V2RouteKind kind, string path, params V2Endpoint[] endpoints)
    {
        if (!path.StartsWith(V2Route.Prefix + "/", StringComparison.Ordinal))
            throw new ArgumentException($"A v2 route path starts with {V2Route.Prefix}/: {path}", nameof(path));
        Kind = kind;
        Path = path;
        Endpoints = endpoints;
        var body = path[(V2Route.Prefix.Length + 1)..];
        if (body.Length == 0)
            _shape = ShapeKind.Root;
        else if (!body.StartsWith(NameParameter, StringComparison.Ordinal))
            (_shape, _literal) = (ShapeKind.Literal, body.TrimEnd('/'));
        else if (body.EndsWith('>'))
            (_shape, _suffix) = (ShapeKind.NameAndReference, body[NameParameter.Length..body.LastIndexOf('/')]);
        else
            (_shape, _suffix) = (ShapeKind.Name, body[NameParameter.Length..].TrimEnd('/'));
    }

    public V2RouteKind Kind { get; }

    /// <summary>The path shape as the specifications write it, e.g. <c>/v2/&lt;name&gt;/manifests/&lt;reference&gt;</c>.</summary>
    public string Path { get; }

    /// <summary>The methods, in the order the <c>Allow</c> header of a 405 lists them (HEAD listed explicitly).</summary>
    public IReadOnlyList<V2Endpoint> Endpoints { get; }

    /// <summary>The route of <paramref name="p"/> (the path after <c>/v2/</c>), or null when the shape does not match.</summary>
    public V2Route? Match(string p)
    {
        switch (_shape)
        {
            case ShapeKind.Root:
                return p.Length == 0 ? new V2Route(Kind) : null;
            case ShapeKind.Literal:
                return p == _literal || p == _literal + "/" ? new V2Route(Kind) : null;
            case ShapeKind.Name:
                if (p.EndsWith('/')) p = p[..^1];
                return Strip(p, _suffix) is { } name ? new V2Route(Kind, name) : null;
            default:
                var slash = p.LastIndexOf('/');
                if (slash <= 0 || slash == p.Length - 1) return null;
                return Strip(p[..slash], _suffix) is { } named ? new V2Route(Kind, named, p[(slash + 1)..]) : null;
        }
    }

    // "NAME/suffix" -> NAME (never empty)
    private static string? Strip(string p, string suffix) =>
        p.Length > suffix.Length && p.EndsWith(suffix, StringComparison.Ordinal) ? p[..^suffix.Length] : null;
}
