using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>Typed settings when keys are absent or written directly in the file.</summary>
public class TypedSettingsTests : ConfigTestBase
{
    [Test]
    public void Absent_keys_give_the_defaults()
    {
        var settings = LoadWhole("unrelated: 1");

        settings.Issue.Should().BeNull();
        settings.LogLevel.Should().Be("info");
        settings.Debug.Should().BeFalse();
        settings.Standalone.Should().BeFalse();
        settings.DisableTokenAuth.Should().BeFalse();
        settings.StorageRedirect.Should().BeFalse();
        settings.Storage.Should().Be("file");
        settings.StoragePath.Should().Be("./tmp");
        settings.SearchBackend.Should().BeNull();
        settings.SearchDatabase.Should().Be("sqlite:////tmp/docker-registry.db");
        settings.IndexEndpoint.Should().BeNull();
        settings.MirrorSource.Should().BeNull();
    }

    [Test]
    public void Null_booleans_read_as_false()
    {
        var settings = LoadWhole("standalone: _env:STANDALONE\ndebug: ~\ndisable_token_auth:\nstorage_redirect: null", ("STANDALONE", ""));

        settings.Standalone.Should().BeFalse();
        settings.Debug.Should().BeFalse();
        settings.DisableTokenAuth.Should().BeFalse();
        settings.StorageRedirect.Should().BeFalse();
    }

    [TestCase("local", "file")]
    [TestCase("file", "file")]
    [TestCase("inmemory", "inmemory")]
    [TestCase("s3", "s3")]
    [TestCase("S3", "s3")]
    [TestCase("gcs", "gcs")]
    [TestCase("swift", "swift")]
    [TestCase("glance", "glance")]
    [TestCase("azureblob", "azureblob")]
    [TestCase("elliptics", "elliptics")]
    [TestCase("oss", "oss")]
    public void Storage_kinds_are_accepted_and_local_means_file(string written, string expected)
    {
        LoadWhole($"storage: {written}").Storage.Should().Be(expected);
    }

    [TestCase("debug")]
    [TestCase("info")]
    [TestCase("warn")]
    [TestCase("warning")]
    [TestCase("error")]
    [TestCase("critical")]
    public void Log_levels_are_accepted_in_any_case(string level)
    {
        LoadWhole($"loglevel: {level.ToUpperInvariant()}").LogLevel.Should().Be(level);
    }

    [Test]
    public void Index_endpoint_loses_its_trailing_slashes()
    {
        LoadWhole("index_endpoint: https://index.example.com/v1//").IndexEndpoint.Should().Be("https://index.example.com/v1");
    }

    [Test]
    public void String_settings_are_read_as_written()
    {
        var settings = LoadWhole("""
            issue: '"my registry"'
            registry_endpoints: registry.example.com:5000
            nginx_x_accel_redirect: /registry_storage
            sqlalchemy_index_database: sqlite:///relative.db
            search_backend: sqlalchemy
            mirroring:
                source: https://registry-1.docker.io
                source_index: https://index.docker.io
                tags_cache_ttl: 60
            """);

        settings.Issue.Should().Be("\"my registry\"");
        settings.Roles.RegistryEndpoints.Should().Equal("registry.example.com:5000");
        settings.NginxXAccelRedirect.Should().Be("/registry_storage");
        settings.SearchDatabase.Should().Be("sqlite:///relative.db");
        settings.SearchBackend.Should().Be("sqlalchemy");
        settings.MirrorSource.Should().Be("https://registry-1.docker.io");
        settings.MirrorSourceIndex.Should().Be("https://index.docker.io");
        settings.MirrorTagsCacheTtlSeconds.Should().Be(60);
    }
}
