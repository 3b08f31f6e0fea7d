using Carter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Configuration;
using Registry.Core.Http;

namespace Registry.Index.Modules;

/// <summary>
/// <c>/v1/users</c> as the standalone original answers it (spec §3.7.1): no accounts, so <c>docker login</c>
/// "creates" one and stores the credentials. Mounted only in standalone mode.
/// </summary>
public sealed class UsersModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        if (!app.ServiceProvider.GetRequiredService<RegistrySettings>().Standalone) return;

        app.MapMethods("/v1/users", ["GET", "HEAD"], () => V1Results.JsonString("OK"));
        app.MapPost("/v1/users", async (HttpRequest request, RegistrySettings settings, CancellationToken ct) =>
        {
            var body = await JsonBody.ReadAsync(request, settings.MaxJsonBodyBytes, ct);
            if (body is null) return V1Results.Error(413, "Request body too large");
            using var doc = JsonBody.TryParse(body);
            return doc is null ? V1Results.Error(400, "Error Decoding JSON") : V1Results.JsonString("User Created", 201);
        });
        app.MapPut("/v1/users/{username}", () => V1Results.Empty(204));
    }
}
