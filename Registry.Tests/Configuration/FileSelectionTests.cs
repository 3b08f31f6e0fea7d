using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>DOCKER_REGISTRY_CONFIG picks the file and SETTINGS_FLAVOR the flavor.</summary>
public class FileSelectionTests : ConfigTestBase
{
    private const string Yaml = "dev:\n  storage_path: /dev-path\nother:\n  storage_path: /other-path\n";

    [Test]
    public void Default_file_and_default_flavor_dev_when_nothing_is_set()
    {
        var file = WriteFile(Yaml);

        var settings = ConfigLoader.Load(Env(), file, "/");

        settings.SourceFile.Should().Be(file);
        settings.Flavor.Should().Be("dev");
        settings.StoragePath.Should().Be("/dev-path");
    }

    [Test]
    public void Relative_default_file_is_resolved_against_the_working_directory()
    {
        var file = WriteFile(Yaml, "shipped/config_sample.yml");

        var settings = ConfigLoader.Load(Env(), "shipped/config_sample.yml", TempDir);

        settings.SourceFile.Should().Be(file);
    }

    [Test]
    public void Relative_docker_registry_config_is_resolved_against_the_working_directory()
    {
        var file = WriteFile(Yaml, "conf/my.yml");

        var settings = ConfigLoader.Load(Env(("DOCKER_REGISTRY_CONFIG", "conf/my.yml")), "/nonexistent/default.yml", TempDir);

        settings.SourceFile.Should().Be(file);
        settings.StoragePath.Should().Be("/dev-path");
    }

    [Test]
    public void Absolute_docker_registry_config_is_used_as_is()
    {
        var file = WriteFile(Yaml, "abs.yml");

        var settings = ConfigLoader.Load(Env(("DOCKER_REGISTRY_CONFIG", file)), "/nonexistent/default.yml", "/");

        settings.SourceFile.Should().Be(file);
    }

    [Test]
    public void Empty_docker_registry_config_means_the_default_file()
    {
        var file = WriteFile(Yaml);

        var settings = ConfigLoader.Load(Env(("DOCKER_REGISTRY_CONFIG", "")), file, "/");

        settings.SourceFile.Should().Be(file);
    }

    [Test]
    public void Settings_flavor_picks_the_flavor()
    {
        var settings = LoadFlavor(Yaml, "other");

        settings.Flavor.Should().Be("other");
        settings.StoragePath.Should().Be("/other-path");
    }

    [Test]
    public void Empty_settings_flavor_makes_the_whole_document_the_configuration()
    {
        var settings = LoadFlavor("storage_path: /whole\nloglevel: warn\n", "");

        settings.Flavor.Should().Be("");
        settings.StoragePath.Should().Be("/whole");
        settings.LogLevel.Should().Be("warn");
        settings.Values.Keys.Should().Equal("storage_path", "loglevel");
    }
}
