using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Registry.Tests.Support;

/// <summary>
/// A minimal token server of the docker token authentication specification ('Requesting a Token'), on Kestrel at
/// 127.0.0.1 and a free port: <c>GET /token?service=&amp;scope=</c> with Basic credentials answers
/// <c>{"token", "expires_in"}</c>, an RS256 JWT whose header carries the signing certificate (<c>x5c</c>), as
/// distribution's token auth verifies it against <see cref="RootCertificatePath"/>. Counts the tokens it issued.
/// </summary>
public sealed class TokenServer : IAsyncDisposable
{
    public const string Service = "test-registry";
    public const string Issuer = "test-token-issuer";

    private readonly WebApplication _app;
    private readonly RSA _key;
    private readonly X509Certificate2 _certificate;
    private int _issued;

    private TokenServer(WebApplication app, int port, RSA key, X509Certificate2 certificate, string directory, string user, string password, int expiresIn)
    {
        _app = app;
        Realm = $"http://127.0.0.1:{port}/token";
        _key = key;
        _certificate = certificate;
        RootCertificatePath = Path.Combine(directory, "token-root.pem");
        File.WriteAllText(RootCertificatePath, certificate.ExportCertificatePem());
        app.MapGet("/token", (HttpContext context) =>
        {
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
            if (context.Request.Headers.Authorization != expected) return Results.Json(new { details = "bad credentials" }, statusCode: 401);
            var scope = context.Request.Query["scope"].ToString();
            Interlocked.Increment(ref _issued);
            return Results.Json(new { token = Mint(scope, TimeSpan.FromSeconds(expiresIn)), expires_in = expiresIn });
        });
    }

    /// <summary>The certificate that signs every token, for the registry's <c>rootcertbundle</c>.</summary>
    public string RootCertificatePath { get; }

    public string Realm { get; }

    public int Issued => Volatile.Read(ref _issued);

    /// <summary>The registry's <c>auth:</c> section trusting this server.</summary>
    public string AuthYaml => $"auth: {{token: {{realm: \"{Realm}\", service: {Service}, issuer: {Issuer}, rootcertbundle: {RootCertificatePath}}}}}";

    public static async Task<TokenServer> StartAsync(string directory, string user, string password, int expiresIn = 300)
    {
        var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=test token issuer", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var port = FreePort.Next();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var server = new TokenServer(app, port, key, certificate, directory, user, password, expiresIn);
        await app.StartAsync();
        return server;
    }

    /// <summary>A token granting every action the scope asks for (<c>repository:NAME:ACTIONS</c>, several space-separated).</summary>
    public string Mint(string scope, TimeSpan lifetime)
    {
        var access = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => s.Split(':')).Where(p => p.Length == 3)
            .Select(p => new { type = p[0], name = p[1], actions = p[2].Split(',') }).ToArray();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new Dictionary<string, object> { ["alg"] = "RS256", ["typ"] = "JWT", ["x5c"] = new[] { Convert.ToBase64String(_certificate.RawData) } };
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer, ["sub"] = "mirror", ["aud"] = Service, ["exp"] = now + (long)lifetime.TotalSeconds,
            ["nbf"] = now - 10, ["iat"] = now, ["jti"] = Guid.NewGuid().ToString("N"), ["access"] = access,
        };
        var signingInput = $"{Base64Url(JsonSerializer.SerializeToUtf8Bytes(header))}.{Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims))}";
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{signingInput}.{Base64Url(signature)}";
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _certificate.Dispose();
        _key.Dispose();
    }
}
