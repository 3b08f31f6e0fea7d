using Microsoft.AspNetCore.Http;

namespace Registry.V2.Routing;

/// <summary>
/// Serves the requests of some routes. The dispatcher has already answered 405 for a method not in
/// <see cref="Methods"/>, checked the name grammar (400 NAME_INVALID) and the caller's access; the handler
/// validates the reference and does the work. Handlers are found in this assembly and registered as singletons.
/// </summary>
public interface IV2RouteHandler
{
    /// <summary>The routes this handler serves and, for each, the methods it accepts (HEAD listed explicitly).</summary>
    IReadOnlyDictionary<V2RouteKind, string[]> Methods { get; }

    Task<IResult> HandleAsync(HttpContext context, V2Route route, CancellationToken ct);
}
