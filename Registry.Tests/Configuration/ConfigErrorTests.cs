using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>Every start-up error is one line naming the file, the flavor, the key and the variable involved.</summary>
public class ConfigErrorTests : ConfigTestBase
{
    private string LoadError(Func<RegistrySettings> load)
    {
        var message = load.Should().Throw<ConfigException>().Which.Message;
        message.Should().NotContain("\n");
        return message;
    }

    [Test]
    public void Unknown_flavor_lists_the_available_ones()
    {
        var file = WriteFile("common: &common {debug: true}\ndev: {<<: *common}\nprod: {}\n");

        var message = LoadError(() => ConfigLoader.Load(Env(("SETTINGS_FLAVOR", "staging")), file, TempDir));

        message.Should().Be(
            $"config error in {file}, flavor \"staging\" (from $SETTINGS_FLAVOR=\"staging\"): the flavor is missing from the file; available flavors: common, dev, prod");
    }

    [Test]
    public void Default_flavor_missing_names_the_unset_variable()
    {
        var file = WriteFile("prod: {}\n");

        var message = LoadError(() => ConfigLoader.Load(Env(), file, TempDir));

        message.Should().Be(
            $"config error in {file}, flavor \"dev\" (from $SETTINGS_FLAVOR, unset, default \"dev\"): the flavor is missing from the file; available flavors: prod");
    }

    [Test]
    public void Missing_file_names_the_variable_and_the_resolved_path()
    {
        var expectedPath = Path.Combine(TempDir, "missing.yml");

        var message = LoadError(() => ConfigLoader.Load(Env(("DOCKER_REGISTRY_CONFIG", "missing.yml")), SampleFile, TempDir));

        message.Should().Be(
            $"config error in {expectedPath}, flavor \"dev\" (from $DOCKER_REGISTRY_CONFIG=\"missing.yml\"): the file is missing");
    }

    [Test]
    public void Missing_default_file_says_the_variable_is_unset()
    {
        var message = LoadError(() => ConfigLoader.Load(Env(), "nowhere/config_sample.yml", TempDir));

        message.Should().Be(
            $"config error in {Path.Combine(TempDir, "nowhere/config_sample.yml")}, flavor \"dev\" (from $DOCKER_REGISTRY_CONFIG, unset, default \"nowhere/config_sample.yml\"): the file is missing");
    }

    [Test]
    public void Malformed_yaml_gives_line_and_column()
    {
        var file = WriteFile("dev:\n  debug: true\n  storage: [local\n");

        var message = LoadError(() => ConfigLoader.Load(Env(), file, TempDir));

        message.Should().StartWith($"config error in {file}, flavor \"dev\": invalid YAML at line 4, column 1: ");
    }

    [Test]
    public void Unknown_alias_gives_line_and_column()
    {
        var file = WriteFile("dev:\n  <<: *common\n");

        var message = LoadError(() => ConfigLoader.Load(Env(), file, TempDir));

        message.Should().Be($"config error in {file}, flavor \"dev\": invalid YAML at line 2, column 7: unknown alias *common");
    }

    [Test]
    public void Empty_file_is_an_error()
    {
        var file = WriteFile("# nothing here\n");

        var message = LoadError(() => ConfigLoader.Load(Env(), file, TempDir));

        message.Should().Be($"config error in {file}, flavor \"dev\": the file holds no YAML document");
    }

    [Test]
    public void Flavor_that_is_not_a_mapping_is_an_error()
    {
        var file = WriteFile("dev: local\n");

        var message = LoadError(() => ConfigLoader.Load(Env(), file, TempDir));

        message.Should().Be(
            $"config error in {file}, flavor \"dev\", key \"dev\" (from $SETTINGS_FLAVOR, unset, default \"dev\"): a flavor must be a mapping of settings (line 1, column 6)");
    }

    [Test]
    public void Non_boolean_standalone_from_the_environment()
    {
        var message = LoadError(() => LoadSample(("SETTINGS_FLAVOR", "prod"), ("STANDALONE", "maybe")));

        message.Should().Be(
            $"config error in {SampleFile}, flavor \"prod\", key \"standalone\" (from $STANDALONE=\"maybe\"): expected a boolean (true/false), got the string \"maybe\"");
    }

    [Test]
    public void Truthy_integer_standalone_is_an_error()
    {
        var message = LoadError(() => LoadSample(("STANDALONE", "1")));

        message.Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"standalone\" (from $STANDALONE=\"1\"): expected a boolean (true/false), got the integer 1");
    }

    [Test]
    public void Non_boolean_written_in_the_file_names_no_variable()
    {
        var file = WriteFile("dev:\n  debug: sometimes\n");

        var message = LoadError(() => ConfigLoader.Load(Env(), file, TempDir));

        message.Should().Be($"config error in {file}, flavor \"dev\", key \"debug\": expected a boolean (true/false), got the string \"sometimes\"");
    }

    [Test]
    public void Unknown_log_level_lists_the_allowed_ones()
    {
        var message = LoadError(() => LoadSample(("LOGLEVEL", "loud")));

        message.Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"loglevel\" (from $LOGLEVEL=\"loud\"): expected one of debug, info, warn, warning, error, critical; got the string \"loud\"");
    }

    [Test]
    public void Unknown_storage_lists_the_allowed_ones()
    {
        var file = WriteFile("dev:\n  storage: ftp\n");

        var message = LoadError(() => ConfigLoader.Load(Env(), file, TempDir));

        message.Should().Be(
            $"config error in {file}, flavor \"dev\", key \"storage\": expected one of local, file, inmemory, s3, gcs, swift, glance, azureblob, elliptics, oss; got the string \"ftp\"");
    }

    [Test]
    public void Number_where_a_path_is_expected()
    {
        var message = LoadError(() => LoadSample(("STORAGE_PATH", "5000")));

        message.Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"storage_path\" (from $STORAGE_PATH=\"5000\"): expected a string, got the integer 5000 (quote the value to keep it a string)");
    }

    [Test]
    public void Unset_variable_with_a_bad_default_names_the_default()
    {
        var file = WriteFile("dev:\n  standalone: _env:STANDALONE:perhaps\n");

        var message = LoadError(() => ConfigLoader.Load(Env(), file, TempDir));

        message.Should().Be(
            $"config error in {file}, flavor \"dev\", key \"standalone\" (from $STANDALONE, unset, default \"perhaps\"): expected a boolean (true/false), got the string \"perhaps\"");
    }

    [TestCase("MAX_JSON_BODY_BYTES", "0", "max_json_body_bytes", "expected an integer from 1 to 9223372036854775807, got the integer 0")]
    [TestCase("MAX_HEADER_BYTES", "4294967296", "max_header_bytes", "expected an integer from 1 to 2147483647, got the integer 4294967296")]
    [TestCase("BODY_MIN_RATE", "-1", "body_min_rate_bytes_per_second", "expected an integer from 0 to 9223372036854775807, got the integer -1")]
    [TestCase("BODY_MIN_RATE_GRACE", "1", "body_min_rate_grace_seconds", "expected an integer from 2 to 2147483647, got the integer 1")]
    [TestCase("BODY_IDLE_TIMEOUT", "-1", "body_idle_timeout_seconds", "expected an integer from 0 to 2147483647, got the integer -1")]
    [TestCase("BODY_IDLE_TIMEOUT", "1m", "body_idle_timeout_seconds", "expected an integer from 0 to 2147483647, got the string \"1m\"")]
    [TestCase("SHUTDOWN_TIMEOUT", "1.5", "shutdown_timeout_seconds", "expected an integer from 0 to 2147483647, got the number 1.5")]
    [TestCase("SHUTDOWN_TIMEOUT", "soon", "shutdown_timeout_seconds", "expected an integer from 0 to 2147483647, got the string \"soon\"")]
    public void Server_limits_out_of_range(string variable, string value, string key, string problem)
    {
        var message = LoadError(() => LoadSample((variable, value)));

        message.Should().Be(SampleError(key, variable, value, problem));
    }

    [Test]
    public void Nested_key_names_its_section()
    {
        var message = LoadError(() => LoadSample(("MIRROR_TAGS_CACHE_TTL", "forever")));

        message.Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"mirroring.tags_cache_ttl\" (from $MIRROR_TAGS_CACHE_TTL=\"forever\"): expected an integer from 0 to 9223372036854775807, got the string \"forever\"");
    }

    [TestCase("ftp://mirror.example.com")]
    [TestCase("registry-1.docker.io")]
    [TestCase("https://mirror.example.com/?x=1")]
    [TestCase("ftp://user:s3cret@mirror.example.com")]
    public void A_mirror_source_that_is_not_an_http_url_stops_start_up_without_echoing_it(string value)
    {
        var message = LoadError(() => LoadSample(("MIRROR_SOURCE", value)));

        message.Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"mirroring.source\" (from $MIRROR_SOURCE=\"***\"): " +
            "expected an http:// or https:// URL without query (e.g. https://registry-1.docker.io or http://user:password@host:5000)");
    }

    [Test]
    public void Value_inside_a_map_from_a_variable_names_that_variable()
    {
        var file = WriteFile("dev:\n  mirroring: _env:MIRRORING\n");

        var message = LoadError(() => ConfigLoader.Load(Env(("MIRRORING", "{source: 5}")), file, TempDir));

        message.Should().Be(
            $"config error in {file}, flavor \"dev\", key \"mirroring.source\" (from $MIRRORING=\"{{source: 5}}\"): expected a string, got the integer 5 (quote the value to keep it a string)");
    }

    [Test]
    public void Section_that_is_not_a_map()
    {
        var message = LoadError(() => LoadWhole("mirroring: _env:MIRRORING", ("MIRRORING", "https://registry-1.docker.io")));

        message.Should().EndWith(
            ", key \"mirroring\" (from $MIRRORING=\"https://registry-1.docker.io\"): expected a map of settings, got the string \"https://registry-1.docker.io\"");
    }

    [Test]
    public void Integer_out_of_range_in_the_file()
    {
        var file = WriteFile("dev:\n  port: 99999999999999999999\n");

        var message = LoadError(() => ConfigLoader.Load(Env(), file, TempDir));

        message.Should().Be(
            $"config error in {file}, flavor \"dev\", key \"port\": the integer 99999999999999999999 is out of range (a 64-bit integer is the largest supported)");
    }

    [Test]
    public void Unsupported_tag_is_an_error()
    {
        var file = WriteFile("dev:\n  value: !!python/object x\n");

        var message = LoadError(() => ConfigLoader.Load(Env(), file, TempDir));

        message.Should().Be($"config error in {file}, flavor \"dev\", key \"value\": unsupported tag tag:yaml.org,2002:python/object");
    }

    [Test]
    public void Top_level_that_is_not_a_mapping()
    {
        var file = WriteFile("- dev\n- prod\n");

        var message = LoadError(() => ConfigLoader.Load(Env(), file, TempDir));

        message.Should().Be($"config error in {file}, flavor \"dev\": the top level must be a mapping of flavors (line 1, column 1)");
    }
}
