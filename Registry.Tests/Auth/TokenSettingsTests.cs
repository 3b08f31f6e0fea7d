using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Auth;

/// <summary>The token keys of <c>auth:</c> read from config_sample.yml's variables, and the one-line refusals.</summary>
public class TokenSettingsTests : ConfigTestBase
{
    private string Error(params (string Name, string? Value)[] variables)
    {
        var act = () => LoadSample(variables);
        return act.Should().Throw<ConfigException>().Which.Message;
    }

    [Test]
    public void The_token_server_is_off_by_default_and_its_service_is_the_host_name()
    {
        var token = LoadSample().Auth.Token;
        token.Server.Should().BeFalse();
        token.External.Should().BeNull();
        token.Service.Should().Be(System.Net.Dns.GetHostName());
        token.SigningAlgorithm.Should().Be("RS256");
    }

    [Test]
    public void The_token_server_needs_an_account_backend() =>
        Error(("REGISTRY_AUTH_TOKEN_SERVER", "true")).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"auth.token_server\" (from $REGISTRY_AUTH_TOKEN_SERVER=\"true\"): " +
            "needs an account backend (auth.backend: htpasswd)");

    [Test]
    public void An_external_issuer_needs_realm_service_issuer_and_a_key_source()
    {
        Error(("REGISTRY_AUTH", "token")).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"auth.token.realm\" (from $REGISTRY_AUTH_TOKEN_REALM, unset, default \"\"): " +
            "required when auth.backend is token");
        Error(("REGISTRY_AUTH", "token"), ("REGISTRY_AUTH_TOKEN_REALM", "https://auth.example.test/token"), ("REGISTRY_AUTH_TOKEN_SERVICE", "reg"))
            .Should().EndWith("key \"auth.token.issuer\" (from $REGISTRY_AUTH_TOKEN_ISSUER, unset, default \"\"): required when auth.backend is token");
        Error(("REGISTRY_AUTH", "token"), ("REGISTRY_AUTH_TOKEN_REALM", "https://auth.example.test/token"), ("REGISTRY_AUTH_TOKEN_SERVICE", "reg"),
                ("REGISTRY_AUTH_TOKEN_ISSUER", "iss"))
            .Should().EndWith("key \"auth.token.rootcertbundle\" (from $REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE, unset, default \"\"): required (or auth.token.jwks) when auth.backend is token");
    }

    [Test]
    public void Signing_algorithms_never_include_none()
    {
        var jwks = WriteFile("""{"keys":[]}""", "jwks.json");
        Error(("REGISTRY_AUTH", "token"), ("REGISTRY_AUTH_TOKEN_REALM", "https://auth.example.test/token"), ("REGISTRY_AUTH_TOKEN_SERVICE", "reg"),
                ("REGISTRY_AUTH_TOKEN_ISSUER", "iss"), ("REGISTRY_AUTH_TOKEN_JWKS", jwks), ("REGISTRY_AUTH_TOKEN_SIGNINGALGORITHMS", "RS256,none"))
            .Should().EndWith("\"none\" is not allowed; allowed: RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512");
        var external = LoadSample(("REGISTRY_AUTH", "token"), ("REGISTRY_AUTH_TOKEN_REALM", "https://auth.example.test/token"),
            ("REGISTRY_AUTH_TOKEN_SERVICE", "reg"), ("REGISTRY_AUTH_TOKEN_ISSUER", "iss"), ("REGISTRY_AUTH_TOKEN_JWKS", jwks),
            ("REGISTRY_AUTH_TOKEN_SIGNINGALGORITHMS", "es256")).Auth.Token.External!;
        external.SigningAlgorithms.Should().BeEquivalentTo(["ES256"]);
        external.Service.Should().Be("reg");
    }

    [Test]
    public void A_key_needs_its_certificate() =>
        Error(("REGISTRY_AUTH", "htpasswd"), ("REGISTRY_AUTH_HTPASSWD_PATH", WriteFile("", "htpasswd")), ("REGISTRY_AUTH_TOKEN_SERVER", "true"),
                ("REGISTRY_AUTH_TOKEN_KEY", WriteFile("x", "key.pem")))
            .Should().EndWith("auth.token_key and auth.token_certificate go together");
}
