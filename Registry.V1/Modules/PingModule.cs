using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Carter;
using Registry.Core.Configuration;
using Registry.Core.Http;

namespace Registry.V1.Modules;

/// <summary>
/// <c>/_ping</c>, <c>/v1/_ping</c> and <c>GET /</c> (Docker Registry HTTP API V1, 'Status'). Never gated. A browser
/// (<c>Accept: text/html</c>) asking for <c>/</c> is sent to the web interface; API clients get the original's answer.
/// </summary>
public sealed class PingModule : ICarterModule
{
    public static readonly string Version = typeof(PingModule).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public void AddRoutes(IEndpointRouteBuilder app)
    {
        string[] read = ["GET", "HEAD"];
        app.MapMethods("/_ping", read, Ping);
        app.MapMethods("/v1/_ping", read, Ping);
        app.MapMethods("/", read, (HttpContext http, RegistrySettings settings) =>
        {
            // The answer depends on Accept: a shared cache must not hand the redirect to an API client.
            http.Response.Headers.Vary = "Accept";
            return WantsHtml(http.Request) ? Results.Redirect("/ui/")
                : settings.Issue is null ? V1Results.Json(JsonValue.Create(true)) : V1Results.JsonString(settings.Issue);
        });
    }

    private static bool WantsHtml(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase));

    private static IResult Ping(HttpResponse response, RegistrySettings settings)
    {
        var headers = response.Headers;
        headers["X-Docker-Registry-Version"] = Version;
        headers["X-Docker-Registry-Standalone"] = !string.IsNullOrEmpty(settings.MirrorSource) ? "mirror" : settings.Standalone ? "True" : "False";
        if (!settings.Debug) return V1Results.Json(new JsonObject());

        headers["X-Docker-Registry-Config"] = settings.Flavor;
        return V1Results.Json(new JsonObject
        {
            ["host"] = new JsonArray(
                RuntimeInformation.OSDescription,
                Environment.MachineName,
                RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()),
            ["launch"] = new JsonArray(Environment.GetCommandLineArgs().Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
            ["versions"] = new JsonObject
            {
                ["docker-registry"] = Version,
                ["dotnet"] = RuntimeInformation.FrameworkDescription,
            },
        });
    }
}
