using Carter;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Core.Maintenance;
using Registry.Index.Accounts;
using Registry.V1.Hosting;
using Registry.V1.Maintenance;

namespace Registry.V1.Modules;

/// <summary>
/// <c>POST /v1/_gc?dry_run=true&amp;delete_untagged=false</c>: one garbage collection run, answered with its report
/// (200 JSON) or 409 when another run holds the lock. Who may run it is <see cref="AccessPolicy.AuthorizeGcAsync"/>'s decision.
/// </summary>
public sealed class GcModule : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) => app.MapPost("/v1/_gc", RunAsync);

    private static async Task<IResult> RunAsync(HttpContext http, GarbageCollector collector, AccessPolicy policy, IHostApplicationLifetime lifetime)
    {
        var decision = await policy.AuthorizeGcAsync(http, http.RequestAborted);
        if (!decision.Allowed)
        {
            if (decision.Challenge is not null) http.Response.Headers.WWWAuthenticate = decision.Challenge;
            return V1Results.Error(decision.Status, decision.Message ?? AccessGate.RequiresAuthorization);
        }
        if (!TryFlag(http, "dry_run", out var dryRun) || !TryFlag(http, "delete_untagged", out var deleteUntagged))
            return V1Results.Error(400, "dry_run and delete_untagged take true or false");

        // Not the request's token: a client that hangs up must not stop a sweep half way (it would be safe, but
        // leave half the work for the next run); shutdown still does.
        var result = await collector.RunAsync(new GcOptions(dryRun, deleteUntagged), lifetime.ApplicationStopping);
        if (result.Status != GcRunStatus.AlreadyRunning) MemoryRelease.AfterResponse(http);
        return result.Status == GcRunStatus.AlreadyRunning
            ? V1Results.Error(409, $"Garbage collection already running: {result.Holder}")
            : Results.Json(result.Report, statusCode: 200);
    }

    private static bool TryFlag(HttpContext http, string name, out bool value)
    {
        (var ok, value) = http.Request.Query[name].ToString().ToLowerInvariant() switch
        {
            "" or "false" or "0" => (true, false),
            "true" or "1" => (true, true),
            _ => (false, false),
        };
        return ok;
    }
}
