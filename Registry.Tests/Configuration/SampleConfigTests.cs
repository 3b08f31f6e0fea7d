using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>The shipped config_sample.yml: every flavor loads, and the defaults are those of docs/configuration.md, 'Settings'.</summary>
public class SampleConfigTests : ConfigTestBase
{
    private static readonly string[] Flavors =
    [
        "common", "local", "s3", "cloudfronts3", "azureblob", "ceph-s3", "gcs", "swift", "glance", "openstack",
        "glance-swift", "openstack-swift", "elliptics", "oss", "dev", "prod", "test",
    ];

    [TestCaseSource(nameof(Flavors))]
    [TestCase("")]
    public void Every_flavor_loads_with_an_empty_environment(string flavor)
    {
        var settings = LoadSample(("SETTINGS_FLAVOR", flavor));

        settings.Flavor.Should().Be(flavor);
        settings.SourceFile.Should().Be(SampleFile);
        settings.Values.Should().NotBeEmpty();
    }

    [TestCaseSource(nameof(Flavors))]
    public void Search_is_on_in_every_shipped_flavor(string flavor)
    {
        var settings = LoadSample(("SETTINGS_FLAVOR", flavor));

        settings.SearchEnabled.Should().BeTrue();
    }

    [Test]
    public void The_sample_holds_exactly_the_documented_flavors()
    {
        var act = () => LoadSample(("SETTINGS_FLAVOR", "nope"));

        act.Should().Throw<ConfigException>().Which.Message.Should().EndWith(
            "available flavors: common, local, s3, cloudfronts3, azureblob, ceph-s3, gcs, swift, glance, openstack, "
            + "glance-swift, openstack-swift, elliptics, oss, dev, prod, test");
    }

    [Test]
    public void Dev_is_the_default_flavor_with_local_storage_debug_and_search()
    {
        var settings = LoadSample();

        settings.Flavor.Should().Be("dev");
        settings.LogLevel.Should().Be("debug");
        settings.Debug.Should().BeTrue();
        settings.Standalone.Should().BeTrue();
        settings.Storage.Should().Be("file");
        settings.StoragePath.Should().Be("/tmp/registry");
        settings.SearchBackend.Should().Be("sqlalchemy");
        settings.SearchEnabled.Should().BeTrue();
        settings.SearchDatabase.Should().Be("sqlite:////tmp/docker-registry.db");
        settings.Issue.Should().Be("\"docker-registry server\"");
        settings.IndexEndpoint.Should().Be("https://index.docker.io");
        settings.DisableTokenAuth.Should().BeFalse();
        settings.StorageRedirect.Should().BeFalse();
        settings.Roles.PrivilegedKeyPem.Should().BeNull();
        settings.Roles.RegistryEndpoints.Should().BeEmpty();
        settings.Roles.Role.Should().Be(ServerRole.Both);
        settings.Roles.IndexTokenCacheTtl.Should().Be(TimeSpan.FromSeconds(60));
        settings.NginxXAccelRedirect.Should().BeNull();
        settings.MirrorSource.Should().BeNull();
        settings.MirrorSourceIndex.Should().BeNull();
        settings.MirrorTagsCacheTtlSeconds.Should().Be(172800);
        settings.Values["storage"].Should().Be("local");
    }

    [Test]
    public void Dev_has_the_server_limits_of_the_common_section()
    {
        var settings = LoadSample();

        settings.MaxJsonBodyBytes.Should().Be(10485760);
        settings.MaxHeaderBytes.Should().Be(65536);
        settings.BodyMinRateBytesPerSecond.Should().Be(240);
        settings.BodyMinRateGraceSeconds.Should().Be(30);
        settings.BodyIdleTimeoutSeconds.Should().Be(60);
        settings.ShutdownTimeoutSeconds.Should().Be(30);
    }

    [Test]
    public void Server_limits_come_from_their_variables()
    {
        var settings = LoadSample(
            ("MAX_JSON_BODY_BYTES", "1024"), ("MAX_HEADER_BYTES", "8192"), ("BODY_MIN_RATE", "0"),
            ("BODY_MIN_RATE_GRACE", "5"), ("BODY_IDLE_TIMEOUT", "0"), ("SHUTDOWN_TIMEOUT", "0"));

        settings.MaxJsonBodyBytes.Should().Be(1024);
        settings.MaxHeaderBytes.Should().Be(8192);
        settings.BodyMinRateBytesPerSecond.Should().Be(0);
        settings.BodyMinRateGraceSeconds.Should().Be(5);
        settings.BodyIdleTimeoutSeconds.Should().Be(0);
        settings.ShutdownTimeoutSeconds.Should().Be(0);
    }

    [Test]
    public void Server_limits_have_the_same_defaults_when_absent_from_the_file()
    {
        var settings = LoadWhole("storage: local");

        settings.MaxJsonBodyBytes.Should().Be(10485760);
        settings.MaxHeaderBytes.Should().Be(65536);
        settings.BodyMinRateBytesPerSecond.Should().Be(240);
        settings.BodyMinRateGraceSeconds.Should().Be(30);
        settings.BodyIdleTimeoutSeconds.Should().Be(60);
        settings.ShutdownTimeoutSeconds.Should().Be(30);
    }

    [Test]
    public void Prod_is_s3_under_prod_with_search()
    {
        var settings = LoadSample(("SETTINGS_FLAVOR", "prod"));

        settings.Storage.Should().Be("s3");
        settings.StoragePath.Should().Be("/prod");
        settings.LogLevel.Should().Be("info");
        settings.Debug.Should().BeFalse();
        settings.Standalone.Should().BeTrue();
        settings.SearchBackend.Should().Be("sqlalchemy");
        settings.SearchEnabled.Should().BeTrue();
        settings.Values["s3_encrypt"].Should().Be(true);
        settings.Values["s3_access_key"].Should().BeNull();
    }

    [Test]
    public void Test_flavor_uses_the_staging_index_and_a_relative_storage_path()
    {
        var settings = LoadSample(("SETTINGS_FLAVOR", "test"));

        settings.IndexEndpoint.Should().Be("https://registry-stage.hub.docker.com");
        settings.StoragePath.Should().Be("./tmp/test");
        settings.Standalone.Should().BeTrue();
        settings.SearchBackend.Should().Be("sqlalchemy");
    }

    [TestCase("s3", "/registry")]
    [TestCase("ceph-s3", "/registry")]
    [TestCase("gcs", "/registry")]
    [TestCase("swift", "/registry")]
    [TestCase("glance", "/tmp/registry")]
    [TestCase("oss", "/registry/")]
    [TestCase("local", "/tmp/registry")]
    public void Storage_path_defaults_per_flavor(string flavor, string expected)
    {
        LoadSample(("SETTINGS_FLAVOR", flavor)).StoragePath.Should().Be(expected);
    }

    [Test]
    public void Sections_resolve_their_env_values()
    {
        var settings = LoadSample(("CACHE_REDIS_PORT", "6379"));

        var cache = Map(settings.Values["cache"]);
        cache["port"].Should().Be(6379L);
        cache["db"].Should().Be(0L);
        cache["host"].Should().BeNull();
        List(Map(settings.Values["cors"])["headers"]).Should().Equal("Content-Type");
        Map(settings.Values["email_exceptions"])["smtp_secure"].Should().Be(false);
    }

    [Test]
    public void Variables_override_the_sample_defaults()
    {
        var settings = LoadSample(
            ("STANDALONE", "false"), ("DISABLE_TOKEN_AUTH", "True"), ("INDEX_ENDPOINT", "https://index.example.com//"),
            ("STORAGE_PATH", "/data"), ("SEARCH_BACKEND", ""), ("MIRROR_SOURCE", "https://registry-1.docker.io"),
            ("STORAGE_REDIRECT", "on"), ("REGISTRY_ROLE", "registry"), ("LOGLEVEL", "WARNING"));

        settings.Standalone.Should().BeFalse();
        settings.DisableTokenAuth.Should().BeTrue();
        settings.IndexEndpoint.Should().Be("https://index.example.com");
        settings.StoragePath.Should().Be("/data");
        settings.SearchBackend.Should().BeNull();
        settings.SearchEnabled.Should().BeFalse();
        settings.MirrorSource.Should().Be("https://registry-1.docker.io");
        settings.StorageRedirect.Should().BeTrue();
        settings.Roles.Role.Should().Be(ServerRole.Registry);
        settings.LogLevel.Should().Be("warning");
    }
}
