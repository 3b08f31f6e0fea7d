using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Auth;

/// <summary>
/// <c>auth.backend: token</c>: tokens of another token server, minted here with a test CA (x5c chain) or a JWKS
/// key, verified as the Go registry does; everything else is 401 with the external realm's challenge.
/// </summary>
public class ExternalIssuerTests
{
    private const string Realm = "https://auth.example.test/token";
    private const string Service = "ext-registry";
    private const string Issuer = "test-issuer";
    private const string JwksKid = "jwks-key-1";
    private static readonly string PullChallenge =
        $"Bearer realm=\"{Realm}\",service=\"{Service}\",scope=\"repository:alice/app:pull\",error=\"invalid_token\"";

    private TempDirectory _files = null!;
    private X509Certificate2 _ca = null!;
    private X509Certificate2 _leaf = null!;
    private ECDsa _jwksKey = null!;
    private TestRegistry _registry = null!;

    [OneTimeSetUp]
    public async Task StartRegistry()
    {
        _files = new TempDirectory();
        var now = DateTimeOffset.UtcNow;
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=test token CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        _ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        var leafKey = RSA.Create(2048);
        var leafRequest = new CertificateRequest("CN=test token signer", leafKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var unkeyed = leafRequest.Create(_ca, now.AddDays(-1), now.AddMonths(6), [1, 2, 3, 4]);
        _leaf = unkeyed.CopyWithPrivateKey(leafKey);
        File.WriteAllText(_files.File("bundle.pem"), _ca.ExportCertificatePem());

        _jwksKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = _jwksKey.ExportParameters(false);
        var jwks = new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject
            {
                ["kty"] = "EC", ["crv"] = "P-256", ["kid"] = JwksKid, ["use"] = "sig", ["alg"] = "ES256",
                ["x"] = Base64UrlEncoder.Encode(p.Q.X), ["y"] = Base64UrlEncoder.Encode(p.Q.Y),
            }),
        };
        File.WriteAllText(_files.File("jwks.json"), jwks.ToJsonString());

        _registry = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "token",
            ["REGISTRY_AUTH_TOKEN_REALM"] = Realm,
            ["REGISTRY_AUTH_TOKEN_SERVICE"] = Service,
            ["REGISTRY_AUTH_TOKEN_ISSUER"] = Issuer,
            ["REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE"] = _files.File("bundle.pem"),
            ["REGISTRY_AUTH_TOKEN_JWKS"] = _files.File("jwks.json"),
        });
        using var warm = await _registry.Client.GetAsync("/v2/");
    }

    [OneTimeTearDown]
    public async Task StopRegistry()
    {
        await _registry.DisposeAsync();
        _files.Dispose();
    }

    [Test]
    public async Task A_token_chained_to_the_bundle_by_x5c_is_accepted()
    {
        var token = Mint(X5cCredentials(), X5c(_leaf));
        (await TagsAsync(token)).Should().Be((404, null));
        (await PushAsync(token)).Status.Should().Be(401);
    }

    [Test]
    public async Task A_token_whose_kid_is_in_the_jwks_is_accepted()
    {
        var token = Mint(new SigningCredentials(new ECDsaSecurityKey(_jwksKey) { KeyId = JwksKid }, "ES256"));
        (await TagsAsync(token)).Should().Be((404, null));
    }

    [Test]
    public async Task Clock_skew_within_sixty_seconds_is_tolerated()
    {
        var token = Mint(X5cCredentials(), X5c(_leaf), expires: DateTimeOffset.UtcNow.AddSeconds(-30));
        (await TagsAsync(token)).Should().Be((404, null));
    }

    [Test]
    public async Task Wrong_issuer_audience_lifetime_signature_algorithm_or_key_is_401_with_the_challenge()
    {
        var stranger = RSA.Create(2048);
        var strangerCertificate = new CertificateRequest("CN=stranger", stranger, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var good = Mint(X5cCredentials(), X5c(_leaf));
        var parts = good.Split('.');
        var unsigned = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""") + "." + parts[1] + ".";
        var tampered = parts[0] + "." + Base64UrlEncoder.Encode(Base64UrlEncoder.Decode(parts[1]).Replace("\"pull\"", "\"push\"")) + "." + parts[2];

        var cases = new Dictionary<string, string>
        {
            ["wrong issuer"] = Mint(X5cCredentials(), X5c(_leaf), issuer: "someone-else"),
            ["wrong audience"] = Mint(X5cCredentials(), X5c(_leaf), audience: "other-registry"),
            ["expired"] = Mint(X5cCredentials(), X5c(_leaf), expires: DateTimeOffset.UtcNow.AddSeconds(-120)),
            ["not yet valid"] = Mint(X5cCredentials(), X5c(_leaf), notBefore: DateTimeOffset.UtcNow.AddSeconds(300)),
            ["tampered"] = tampered,
            ["alg none"] = unsigned,
            ["unknown x5c"] = Mint(new SigningCredentials(new RsaSecurityKey(stranger), "RS256"), X5c(strangerCertificate)),
            ["unknown kid"] = Mint(new SigningCredentials(new RsaSecurityKey(stranger) { KeyId = "nobody" }, "RS256")),
            ["HS256"] = Mint(new SigningCredentials(new SymmetricSecurityKey(new byte[32]) { KeyId = JwksKid }, "HS256")),
            ["malformed"] = "eyJ.eyJ.x",
        };
        foreach (var (name, token) in cases)
            (await TagsAsync(token)).Should().Be((401, PullChallenge), name);
    }

    [Test]
    public async Task Our_accounts_are_not_consulted_and_the_challenge_names_the_external_realm()
    {
        using var anonymous = await _registry.Client.GetAsync("/v2/");
        ((int)anonymous.StatusCode).Should().Be(401);
        anonymous.Header("WWW-Authenticate").Should().Be($"Bearer realm=\"{Realm}\",service=\"{Service}\"");

        using var basic = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { Authorization = TestRegistry.Basic("alice", "alice-pw") } };
        using var refused = await _registry.Client.SendAsync(basic);
        ((int)refused.StatusCode).Should().Be(401);

        // The tokens come from the realm: this server has no token endpoint.
        using var tokenEndpoint = await _registry.Client.GetAsync("/v2/token");
        ((int)tokenEndpoint.StatusCode).Should().Be(404);
    }

    [Test]
    public async Task V1_routes_accept_the_external_tokens()
    {
        var token = Mint(X5cCredentials(), X5c(_leaf));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/repositories/alice/app/tags") { Headers = { Authorization = TokenClient.Bearer(token) } };
        using var response = await _registry.Client.SendAsync(request);
        ((int)response.StatusCode).Should().Be(404);
    }

    private SigningCredentials X5cCredentials() => new(new RsaSecurityKey(_leaf.GetRSAPrivateKey()!), "RS256");

    private static Dictionary<string, object> X5c(X509Certificate2 certificate) =>
        new() { ["x5c"] = new[] { Convert.ToBase64String(certificate.RawData) } };

    private static string Mint(
        SigningCredentials credentials, Dictionary<string, object>? header = null, string issuer = Issuer, string audience = Service,
        DateTimeOffset? expires = null, DateTimeOffset? notBefore = null)
    {
        var now = DateTimeOffset.UtcNow;
        var payload = new JsonObject
        {
            ["iss"] = issuer, ["sub"] = "alice", ["aud"] = audience,
            ["exp"] = (expires ?? now.AddMinutes(5)).ToUnixTimeSeconds(),
            ["nbf"] = (notBefore ?? now).ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(), ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = JsonNode.Parse("""[{"type":"repository","name":"alice/app","actions":["pull"]}]"""),
        };
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return header is null
            ? handler.CreateToken(payload.ToJsonString(), credentials)
            : handler.CreateToken(payload.ToJsonString(), credentials, header);
    }

    /// <summary><c>GET /v2/alice/app/tags/list</c> with the token: the status and, for a 401, the challenge.</summary>
    private async Task<(int Status, string? Challenge)> TagsAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/alice/app/tags/list");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        using var response = await _registry.Client.SendAsync(request);
        var status = (int)response.StatusCode;
        return (status, status == 401 ? response.Header("WWW-Authenticate") : null);
    }

    private async Task<(int Status, string? Challenge)> PushAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/alice/app/blobs/uploads/");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        using var response = await _registry.Client.SendAsync(request);
        return ((int)response.StatusCode, response.Header("WWW-Authenticate"));
    }
}
