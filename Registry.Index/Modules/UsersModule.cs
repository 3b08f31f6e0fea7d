using System.Text.Json;
using Carter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Configuration;
using Registry.Core.Http;
using Registry.Index.Accounts;

namespace Registry.Index.Modules;

/// <summary>
/// <c>/v1/users</c> (Docker Hub API, 'Users'). Without authentication: the standalone original (no accounts, so
/// <c>docker login</c> "creates" one). With authentication: <c>GET</c> checks Basic credentials (200/401),
/// <c>POST</c> signs up when the config allows it (else 401, which sends docker to the <c>GET</c> check),
/// <c>PUT /v1/users/{name}/</c> changes one's own password or email. Mounted only in standalone mode, and not by a registry-only instance (<c>role: registry</c>).
/// </summary>
public sealed class UsersModule : ICarterModule
{
    public const string AlreadyExists = "Username or email already exists";

    public void AddRoutes(IEndpointRouteBuilder app)
    {
        var settings = app.ServiceProvider.GetRequiredService<RegistrySettings>();
        if (!settings.Standalone || !settings.Roles.ServesIndex) return;

        app.MapMethods("/v1/users", ["GET", "HEAD"], GetAsync);
        app.MapPost("/v1/users", PostAsync);
        app.MapPut("/v1/users/{username}", PutAsync);
    }

    private static async Task<IResult> GetAsync(HttpContext http, AuthSettings auth, Authenticator authenticator, CancellationToken ct)
    {
        if (!auth.Enabled) return V1Results.JsonString("OK");
        var principal = await authenticator.AuthenticateAsync(http, ct);
        return principal.Kind switch
        {
            PrincipalKind.User => V1Results.JsonString("OK"),
            PrincipalKind.Throttled => Throttled(http, principal),
            _ => Challenge(http, auth, "Wrong login/password"),
        };
    }

    private static async Task<IResult> PostAsync(HttpContext http, RegistrySettings settings, AuthSettings auth, UserService users, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync(http.Request, settings.MaxJsonBodyBytes, ct);
        if (body is null) return V1Results.Error(413, "Request body too large");
        using var doc = JsonBody.TryParse(body);
        if (doc is null) return V1Results.Error(400, "Error Decoding JSON");
        if (!auth.Enabled) return V1Results.JsonString("User Created", 201);
        if (!auth.SignUp) return Challenge(http, auth, "Sign-up is disabled; log in with an existing account");

        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) return V1Results.Error(400, "Invalid data");
        return await users.SignUpAsync(Text(root, "username"), Text(root, "password"), Text(root, "email") ?? "", ct) switch
        {
            SignUpResult.InvalidUsername => V1Results.Error(400, "Invalid username (must match ^[a-z0-9_]{4,30}$)"),
            SignUpResult.InvalidPassword => InvalidPassword(),
            SignUpResult.InvalidEmail => V1Results.Error(400, "Invalid email"),
            SignUpResult.AlreadyExists => V1Results.JsonString(AlreadyExists, 400),
            _ => V1Results.JsonString("User Created", 201),
        };
    }

    private static async Task<IResult> PutAsync(string username, HttpContext http, RegistrySettings settings, AuthSettings auth, Authenticator authenticator, UserService users, CancellationToken ct)
    {
        if (!auth.Enabled) return V1Results.Empty(204);
        var principal = await authenticator.AuthenticateAsync(http, ct);
        if (principal.Kind == PrincipalKind.Throttled) return Throttled(http, principal);
        if (principal.Kind != PrincipalKind.User) return Challenge(http, auth, "Authentication required");
        if (!users.MayChange(principal, username)) return V1Results.Error(403, "You may only change your own account");

        var body = await JsonBody.ReadAsync(http.Request, settings.MaxJsonBodyBytes, ct);
        if (body is null) return V1Results.Error(413, "Request body too large");
        using var doc = JsonBody.TryParse(body);
        if (doc is null || doc.RootElement.ValueKind != JsonValueKind.Object) return V1Results.Error(400, "Error Decoding JSON");
        return await users.UpdateAsync(username, Text(doc.RootElement, "password"), Text(doc.RootElement, "email"), ct) switch
        {
            UpdateAccountResult.InvalidPassword => InvalidPassword(),
            UpdateAccountResult.NoSuchAccount => V1Results.Error(404, "No such account (accounts from the htpasswd file are changed in that file)"),
            _ => V1Results.Empty(204),
        };
    }

    private static string? Text(JsonElement root, string key) =>
        root.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static IResult InvalidPassword() =>
        V1Results.Error(400, $"Invalid password (at least {UserService.MinPasswordLength} characters)");

    private static IResult Challenge(HttpContext http, AuthSettings auth, string message)
    {
        http.Response.Headers.WWWAuthenticate = $"Basic realm=\"{auth.Realm}\"";
        return V1Results.Error(401, message);
    }

    private static IResult Throttled(HttpContext http, Principal principal)
    {
        http.Response.Headers.RetryAfter = ((int)Math.Ceiling(principal.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return V1Results.Error(429, "Too many failed logins from this address, retry later");
    }
}
