using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;
using Registry.Tests.Support;

namespace Registry.Tests.Auth;

/// <summary>Requests to the token endpoint and a look inside the JWTs it returns, for the Bearer tests.</summary>
internal static class TokenClient
{
    public const string Service = "test-registry";
    public const string Realm = "http://localhost/v2/token";

    /// <summary>A registry with htpasswd users and the token server on (service <see cref="Service"/>).</summary>
    public static TestRegistry Start(IEnumerable<string> users, IReadOnlyDictionary<string, string>? env = null)
    {
        var all = new Dictionary<string, string>
        {
            ["REGISTRY_AUTH_TOKEN_SERVER"] = "true",
            ["REGISTRY_AUTH_TOKEN_SERVICE"] = Service,
        };
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) all[k] = v;
        return TestRegistry.StartWithHtpasswd(users, all);
    }

    /// <summary><c>GET /v2/token</c> with optional Basic credentials; returns the status and the parsed body.</summary>
    public static async Task<(int Status, JsonElement Body)> GetAsync(HttpClient client, string query, string? user = null, string? password = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/token?" + query);
        if (user is not null) request.Headers.Authorization = TestRegistry.Basic(user, password!);
        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    /// <summary>A token for <paramref name="scopes"/> (space-joined) as <paramref name="user"/> (null: anonymous).</summary>
    public static async Task<string> TokenAsync(HttpClient client, string? user, string? password, params string[] scopes)
    {
        var query = "service=" + Service + string.Concat(scopes.Select(s => "&scope=" + Uri.EscapeDataString(s)));
        var (status, body) = await GetAsync(client, query, user, password);
        if (status != 200) throw new InvalidOperationException($"token endpoint answered {status}: {body}");
        return body.GetProperty("token").GetString()!;
    }

    public static async Task<(int Status, JsonElement Body)> PostAsync(HttpClient client, IDictionary<string, string> form)
    {
        using var response = await client.PostAsync("/v2/token", new FormUrlEncodedContent(form));
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    public static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);

    public static JsonElement Header(string jwt) => Part(jwt, 0);

    public static JsonElement Claims(string jwt) => Part(jwt, 1);

    /// <summary>The <c>access</c> claim as compact JSON, for exact comparisons.</summary>
    public static string Access(string jwt) => Claims(jwt).GetProperty("access").GetRawText();

    private static JsonElement Part(string jwt, int index) =>
        JsonDocument.Parse(Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(jwt.Split('.')[index]))).RootElement.Clone();
}
