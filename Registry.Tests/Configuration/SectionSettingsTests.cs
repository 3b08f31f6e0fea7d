using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>The sections the loader reads into typed records, and their errors naming key and variable.</summary>
public class SectionSettingsTests : ConfigTestBase
{
    private string Error(params (string Name, string? Value)[] variables)
    {
        var act = () => LoadSample(variables);
        return act.Should().Throw<ConfigException>().Which.Message;
    }

    [Test]
    public void The_sample_defaults()
    {
        var settings = LoadSample();

        settings.Auth.Should().BeEquivalentTo(new AuthSettings());
        settings.Gc.Should().BeEquivalentTo(new GcSettings());
        settings.Tls.Should().BeNull();
        settings.S3.Should().BeNull();
        settings.SearchResultCache.Should().BeTrue();
        settings.Listen.Should().Be(new ListenAddress("0.0.0.0", 5000));
    }

    [Test]
    public void Auth_is_read_from_its_variables()
    {
        var settings = LoadSample(("REGISTRY_AUTH", "htpasswd"), ("REGISTRY_AUTH_HTPASSWD_PATH", "users.htpasswd"),
            ("REGISTRY_AUTH_ADMINS", "alice, bob"), ("REGISTRY_AUTH_ANONYMOUS_READ", "false"), ("REGISTRY_AUTH_TOKEN_TTL", "60"),
            ("SECRET_KEY", "k"));

        settings.Auth.Enabled.Should().BeTrue();
        settings.Auth.Backend.Should().Be("htpasswd");
        settings.Auth.HtpasswdPath.Should().Be(Path.Combine(TempDir, "users.htpasswd"));
        settings.Auth.Admins.Should().BeEquivalentTo(["alice", "bob"]);
        settings.Auth.AnonymousRead.Should().BeFalse();
        settings.Auth.TokenLifetime.Should().Be(TimeSpan.FromMinutes(1));
        settings.Auth.SecretKey.Should().Be("k");
    }

    [Test]
    public void An_unknown_auth_backend_names_the_key_and_variable() =>
        Error(("REGISTRY_AUTH", "kerberos")).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"auth.backend\" (from $REGISTRY_AUTH=\"kerberos\"): " +
            "\"kerberos\" is not an authentication backend; supported: htpasswd, ldap, token, none");

    [Test]
    public void Htpasswd_without_a_file_names_the_key_and_variable() =>
        Error(("REGISTRY_AUTH", "htpasswd")).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"auth.htpasswd_path\" (from $REGISTRY_AUTH_HTPASSWD_PATH, unset, default \"\"): " +
            "required when auth.backend is htpasswd");

    [Test]
    public void A_gc_setting_that_is_no_number_of_seconds_names_the_key_and_variable() =>
        Error(("REGISTRY_GC_LOCK_TIMEOUT_SECONDS", "0")).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"gc.lock_timeout_seconds\" (from $REGISTRY_GC_LOCK_TIMEOUT_SECONDS=\"0\"): " +
            "expected an integer number of seconds >= 1, got the integer 0");

    [Test]
    public void Gc_is_read_from_its_variables() =>
        LoadSample(("REGISTRY_GC_GRACE_SECONDS", "0"), ("REGISTRY_GC_UPLOAD_MAX_AGE_SECONDS", "60")).Gc
            .Should().BeEquivalentTo(new GcSettings { Grace = TimeSpan.Zero, UploadMaxAge = TimeSpan.FromMinutes(1) });

    [Test]
    public void Tls_needs_both_files() =>
        Error(("REGISTRY_TLS_CERTIFICATE", "/etc/registry/cert.pem")).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"tls.key\" (from $REGISTRY_TLS_KEY, unset, default \"\"): " +
            "both tls.certificate and tls.key are needed");

    [Test]
    public void Tls_names_both_files() =>
        LoadSample(("REGISTRY_TLS_CERTIFICATE", "/c.pem"), ("REGISTRY_TLS_KEY", "/k.pem")).Tls.Should().Be(new TlsSettings("/c.pem", "/k.pem"));

    [Test]
    public void Search_result_cache_is_a_boolean() =>
        Error(("SEARCH_RESULT_CACHE", "sometimes")).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"search_result_cache\" (from $SEARCH_RESULT_CACHE=\"sometimes\"): " +
            "expected a boolean (true/false), got the string \"sometimes\"");

    [Test]
    public void The_listen_address_comes_from_its_variables() =>
        LoadSample(("REGISTRY_HOST", "127.0.0.1"), ("REGISTRY_PORT", "8080")).Listen.Should().Be(new ListenAddress("127.0.0.1", 8080));

    [Test]
    public void A_port_that_is_no_port_names_the_variable() =>
        Error(("REGISTRY_PORT", "http")).Should().Be(
            $"config error in {SampleFile}, flavor \"dev\" (from $REGISTRY_PORT=\"http\"): not a port number (1-65535)");
}
