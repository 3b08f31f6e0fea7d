using Carter;

namespace Registry.V1.Modules;

public sealed class PingModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        app.MapGet("/_ping", () => Results.Json(new { }));
        app.MapGet("/v1/_ping", () => Results.Json(new { }));
    }
}
