using System.Text.Json.Nodes;
using Carter;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Registry.Core.Configuration;

namespace Registry.V1.Health;

/// <summary>
/// <c>/livez</c> (the process serves), <c>/readyz</c> (it can do its work: <see cref="HealthChecks"/>) and
/// <c>/debug/health</c> in the Go registry's format (a JSON object of the failing checks, <c>{}</c> when none), so
/// probes written for either work. Never gated, never cached by intermediaries.
/// </summary>
public sealed class HealthModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        string[] read = ["GET", "HEAD"];
        app.MapMethods("/livez", read, (HttpResponse response) =>
        {
            response.Headers.CacheControl = "no-store";
            return Results.Text("ok\n", "text/plain; charset=utf-8");
        });
        app.MapMethods("/readyz", read, async (HttpResponse response, HealthReports reports) =>
        {
            var report = await reports.LatestAsync();
            var checks = new JsonObject();
            foreach (var (name, entry) in report.Entries)
                checks[name] = new JsonObject { ["status"] = Name(entry.Status), ["description"] = entry.Description };
            return Answer(response, report.Status, new JsonObject { ["status"] = Name(report.Status), ["checks"] = checks });
        });
        app.MapMethods("/debug/health", read, async (HttpResponse response, HealthReports reports, RegistrySettings settings) =>
        {
            var report = await reports.LatestAsync();
            var failing = new JsonObject();
            foreach (var (name, entry) in report.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy))
                failing[GoName(name, settings)] = entry.Description;
            return Answer(response, report.Status, failing);
        });
    }

    // Degraded (Redis away) still serves every request, so it is ready.
    private static IResult Answer(HttpResponse response, HealthStatus status, JsonObject body)
    {
        response.Headers.CacheControl = "no-store";
        return Results.Content(body.ToJsonString(), "application/json; charset=utf-8", null,
            status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }

    private static string Name(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "healthy",
        HealthStatus.Degraded => "degraded",
        _ => "unhealthy",
    };

    // The Go registry names its storage check after the driver ("storagedriver_filesystem", "storagedriver_s3aws").
    private static string GoName(string check, RegistrySettings settings) => check != HealthChecks.Storage
        ? check
        : "storagedriver_" + settings.Storage switch
        {
            "file" => "filesystem",
            "s3" => "s3aws",
            var other => other,
        };
}
