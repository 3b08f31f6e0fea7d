using Microsoft.AspNetCore.Http;

namespace Registry.Core.Http;

/// <summary>The outcome of an access check: allowed, or a status with its error message and challenge.</summary>
public sealed record AccessDecision(int Status, string? Message = null, string? Challenge = null, TimeSpan? RetryAfter = null)
{
    public static readonly AccessDecision Allow = new(0);

    public bool Allowed => Status == 0;
}

/// <summary>Decides whether the current request may proceed (Docker Registry HTTP API V1, 'Authorization', Docker Registry and Index spec, 'Tokens'; the index role implements it).</summary>
public interface IAccessPolicy
{
    ValueTask<AccessDecision> AuthorizeAsync(HttpContext context, CancellationToken ct);
}

/// <summary>The auth gate of Docker Registry HTTP API V1, 'Authorization' as an endpoint filter over <see cref="IAccessPolicy"/>.</summary>
public sealed class AccessGate(IAccessPolicy policy) : IEndpointFilter
{
    public const string RequiresAuthorization = "Requires authorization";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var decision = await policy.AuthorizeAsync(http, http.RequestAborted);
        if (decision.Allowed) return await next(context);
        if (decision.Challenge is not null) http.Response.Headers.WWWAuthenticate = decision.Challenge;
        if (decision.RetryAfter is { } retry) http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return V1Results.Error(decision.Status, decision.Message ?? RequiresAuthorization);
    }
}
