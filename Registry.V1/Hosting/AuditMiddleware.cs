using System.Net;
using Registry.Core.Http;
using Registry.Core.Observability;
using Registry.Index.Accounts;
using Registry.V2.Routing;

namespace Registry.V1.Hosting;

/// <summary>
/// The audit log (<see cref="AuditLog"/>): one line for every write and delete a route serves, whatever its outcome, in
/// one place keyed on method and route template rather than in each module. The steps of a v2 blob upload that only
/// move bytes (starting a session, PATCH of a chunk) are left out; the commit (PUT, or a monolithic POST with
/// <c>?digest=</c>) is recorded. Sits outside the error middleware, so the status is the one the client got.
/// </summary>
public sealed class AuditMiddleware(RequestDelegate next, AuditLog audit)
{
    private const string None = "-";

    public async Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
        {
            await next(context);
            return;
        }
        try
        {
            await next(context);
        }
        finally
        {
            var route = RouteTemplates.Of(context);
            if (route != RegistryMetrics.UnmatchedRoute && !IsUploadStep(context, method))
                audit.Write(Entry(context, method + " " + route));
        }
    }

    private static bool IsUploadStep(HttpContext context, string method) =>
        V2Route.IsV2Path(context.Request.Path.Value) && V2Routes.Match(context.Request.Path.Value ?? "")?.Kind switch
        {
            V2RouteKind.UploadStart => !context.Request.Query.ContainsKey("digest"),
            V2RouteKind.Upload => HttpMethods.IsPatch(method),
            _ => false,
        };

    private static AuditEntry Entry(HttpContext context, string action)
    {
        var (repository, reference) = Target(context);
        return new AuditEntry(action, User(context), Client(context), repository ?? None, reference is { Length: > 0 } r ? r : None,
            context.Response.StatusCode, context.TraceIdentifier);
    }

    /// <summary>The repository and the tag, digest, image id or account the request names.</summary>
    private static (string? Repository, string? Reference) Target(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (V2Route.IsV2Path(path) && V2Routes.Match(path) is { } v2)
            // An upload's reference is its session id; the blob it commits is the digest parameter.
            return (v2.Name, v2.Kind is V2RouteKind.Upload or V2RouteKind.UploadStart ? context.Request.Query["digest"].ToString() : v2.Reference);
        if (path.StartsWith(Registry.Core.Names.RepositoryRoute.Prefix, StringComparison.Ordinal) && RepositoryRoutes.Get(context) is { } v1)
            return (v1.Name?.ToString(), v1.Tag);
        var values = context.Request.RouteValues;
        return (null, (values["imageId"] ?? values["username"])?.ToString());
    }

    /// <summary>The authenticated user, when the request's handler asked who it is; a V1 token and a Bearer token (its <c>sub</c>) carry their user too.</summary>
    private static string User(HttpContext context) => context.Items[Authenticator.PrincipalItem] switch
    {
        Principal { Kind: PrincipalKind.User or PrincipalKind.Bearer, User: { Length: > 0 } user } => user,
        Principal { Kind: PrincipalKind.Token, Token.User: { Length: > 0 } user } => user,
        _ => None,
    };

    private static string Client(HttpContext context) => context.Connection.RemoteIpAddress switch
    {
        null => None,
        { IsIPv4MappedToIPv6: true } mapped => mapped.MapToIPv4().ToString(),
        IPAddress address => address.ToString(),
    };
}
