using System.Security.Cryptography;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary><c>role</c>, <c>registry_endpoints</c>, <c>index_token_cache_ttl</c>, <c>privileged_key</c> and the index a registry needs (docs/configuration.md, 'Split index and registry').</summary>
public class RoleSettingsTests : ConfigTestBase
{
    [TestCase("both", ServerRole.Both, true, true)]
    [TestCase("Index", ServerRole.Index, true, false)]
    [TestCase("registry", ServerRole.Registry, false, true)]
    public void Role_says_which_routes_are_served(string value, ServerRole role, bool index, bool registry)
    {
        var roles = LoadSample(("REGISTRY_ROLE", value)).Roles;

        roles.Role.Should().Be(role);
        roles.ServesIndex.Should().Be(index);
        roles.ServesRegistry.Should().Be(registry);
    }

    [Test]
    public void An_unknown_role_names_the_key_and_the_choices() =>
        LoadError(() => LoadSample(("REGISTRY_ROLE", "mirror"))).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"role\" (from $REGISTRY_ROLE=\"mirror\"): expected one of both, index, registry; got the string \"mirror\"");

    [Test]
    public void Registry_endpoints_are_a_comma_separated_variable_or_a_yaml_list()
    {
        LoadSample(("REGISTRY_ENDPOINTS", "a.example:5000, b.example")).Roles.RegistryEndpoints.Should().Equal("a.example:5000", "b.example");
        LoadWhole("registry_endpoints:\n  - a.example:5000\n  - b.example\n").Roles.RegistryEndpoints.Should().Equal("a.example:5000", "b.example");
    }

    [Test]
    public void A_registry_endpoint_with_a_scheme_is_refused() =>
        LoadError(() => LoadSample(("REGISTRY_ENDPOINTS", "https://a.example"))).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"registry_endpoints\" (from $REGISTRY_ENDPOINTS=\"https://a.example\"): \"https://a.example\" is not host[:port] (no scheme, no path)");

    [Test]
    public void The_token_cache_lifetime_is_bounded() =>
        LoadError(() => LoadSample(("INDEX_TOKEN_CACHE_TTL", "-1"))).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"index_token_cache_ttl\" (from $INDEX_TOKEN_CACHE_TTL=\"-1\"): expected an integer from 0 to 86400, got the integer -1");

    [TestCase("pkcs1")]
    [TestCase("spki")]
    public void A_privileged_key_is_read_in_either_pem_form(string form)
    {
        using var rsa = RSA.Create(3072);
        var pem = form == "pkcs1" ? rsa.ExportRSAPublicKeyPem() : rsa.ExportSubjectPublicKeyInfoPem();
        var path = WriteFile(pem, "index.pub");

        LoadSample(("PRIVILEGED_KEY", path)).Roles.PrivilegedKeyPem.Should().Be(pem);
    }

    [Test]
    public void A_privileged_key_that_is_no_key_names_the_key()
    {
        var path = WriteFile("not a key", "index.pub");

        LoadError(() => LoadSample(("PRIVILEGED_KEY", path))).Should().StartWith(
            $"config error in {SampleFile}, flavor \"dev\", key \"privileged_key\" (from $PRIVILEGED_KEY=\"{path}\"): {path} is not an RSA public key in PEM form");
    }

    [Test]
    public void Standalone_false_without_an_index_and_without_accounts_is_refused() =>
        LoadError(() => LoadSample(("STANDALONE", "false"), ("INDEX_ENDPOINT", ""))).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"index_endpoint\" (from $INDEX_ENDPOINT=\"\"): " +
            "required when standalone is false and authentication is off (the registry asks this index to confirm tokens)");

    [Test]
    public void Standalone_false_without_an_index_is_fine_when_tokens_are_off_or_accounts_are_local()
    {
        LoadSample(("STANDALONE", "false"), ("INDEX_ENDPOINT", ""), ("DISABLE_TOKEN_AUTH", "true")).IndexEndpoint.Should().BeNull();
        var htpasswd = WriteFile("", "htpasswd");
        LoadSample(("STANDALONE", "false"), ("INDEX_ENDPOINT", ""), ("REGISTRY_AUTH", "htpasswd"), ("REGISTRY_AUTH_HTPASSWD_PATH", htpasswd))
            .Auth.Enabled.Should().BeTrue();
    }

    private static string LoadError(Action load)
    {
        try
        {
            load();
        }
        catch (ConfigException e)
        {
            return e.Message;
        }
        throw new AssertionException("the configuration loaded");
    }
}
