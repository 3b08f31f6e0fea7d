using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>docs/configuration.md, '_env: values': the text of an <c>_env:</c> variable is parsed as a YAML 1.1 document.</summary>
public class EnvValueTests : ConfigTestBase
{
    [TestCase("", null)]
    [TestCase("~", null)]
    [TestCase("null", null)]
    [TestCase("Null", null)]
    [TestCase("NULL", null)]
    [TestCase("true", true)]
    [TestCase("True", true)]
    [TestCase("TRUE", true)]
    [TestCase("yes", true)]
    [TestCase("Yes", true)]
    [TestCase("YES", true)]
    [TestCase("on", true)]
    [TestCase("On", true)]
    [TestCase("ON", true)]
    [TestCase("false", false)]
    [TestCase("False", false)]
    [TestCase("FALSE", false)]
    [TestCase("no", false)]
    [TestCase("No", false)]
    [TestCase("NO", false)]
    [TestCase("off", false)]
    [TestCase("Off", false)]
    [TestCase("OFF", false)]
    [TestCase("y", "y")]
    [TestCase("n", "n")]
    [TestCase("Y", "Y")]
    [TestCase("tRUE", "tRUE")]
    [TestCase("10", 10L)]
    [TestCase("-10", -10L)]
    [TestCase("+10", 10L)]
    [TestCase("0", 0L)]
    [TestCase("0x10", 16L)]
    [TestCase("-0x10", -16L)]
    [TestCase("010", 8L)]
    [TestCase("0b101", 5L)]
    [TestCase("1_000", 1000L)]
    [TestCase("1:20", 80L)]
    [TestCase("190:20:30", 685230L)]
    [TestCase("5000", 5000L)]
    [TestCase("08", "08")]
    [TestCase("0.01", 0.01)]
    [TestCase("-1.5", -1.5)]
    [TestCase("1.", 1.0)]
    [TestCase(".5", 0.5)]
    [TestCase("1.5e+3", 1500.0)]
    [TestCase("1:20.5", 80.5)]
    [TestCase(".inf", double.PositiveInfinity)]
    [TestCase("-.inf", double.NegativeInfinity)]
    [TestCase("1e5", "1e5")]
    [TestCase("'x'", "x")]
    [TestCase("\"x\"", "x")]
    [TestCase("'yes'", "yes")]
    [TestCase("\"10\"", "10")]
    [TestCase("\"\"", "")]
    [TestCase("''", "")]
    [TestCase("hello world", "hello world")]
    [TestCase("https://index.docker.io:443/v1", "https://index.docker.io:443/v1")]
    [TestCase("sqlite:////tmp/x.db", "sqlite:////tmp/x.db")]
    [TestCase("2014-01-01", "2014-01-01")]
    [TestCase("  padded  ", "padded")]
    public void Variable_text_is_parsed_as_a_yaml_scalar(string raw, object? expected)
    {
        var settings = LoadWhole("value: _env:VALUE", ("VALUE", raw));

        settings.Values["value"].Should().Be(expected);
    }

    [TestCase("_env:VALUE:5", 5L)]
    [TestCase("_env:VALUE:bug:me:endlessly", "bug:me:endlessly")]
    [TestCase("_env:VALUE:http://example.com:5000/x", "http://example.com:5000/x")]
    [TestCase("_env:VALUE:'quoted: default'", "quoted: default")]
    [TestCase("_env:VALUE", null)]
    [TestCase("_env:VALUE:", null)]
    [TestCase("_env:VALUE:yes", true)]
    public void Unset_variable_uses_the_default_parsed_the_same_way(string written, object? expected)
    {
        var settings = LoadWhole($"value: \"{written}\"");

        settings.Values["value"].Should().Be(expected);
    }

    [Test]
    public void Variable_set_to_empty_counts_as_set_and_gives_null()
    {
        var settings = LoadWhole("value: _env:VALUE:5", ("VALUE", ""));

        settings.Values["value"].Should().BeNull();
    }

    [Test]
    public void Variable_set_wins_over_the_default()
    {
        var settings = LoadWhole("value: _env:VALUE:5", ("VALUE", "7"));

        settings.Values["value"].Should().Be(7L);
    }

    [Test]
    public void Flow_list_default_becomes_a_list()
    {
        var settings = LoadWhole("headers: _env:CORS_HEADERS:[Content-Type]");

        List(settings.Values["headers"]).Should().Equal("Content-Type");
    }

    [Test]
    public void Flow_list_variable_becomes_a_list_with_typed_elements()
    {
        var settings = LoadWhole("value: _env:VALUE", ("VALUE", "[a, 2, yes, ~]"));

        List(settings.Values["value"]).Should().Equal("a", 2L, true, null);
    }

    [Test]
    public void Flow_map_variable_becomes_a_map_whose_values_are_resolved_too()
    {
        var settings = LoadWhole("value: _env:VALUE", ("VALUE", "{a: b, n: _env:INNER, d: _env:UNSET:4}"), ("INNER", "5"));

        var map = Map(settings.Values["value"]);
        map.Should().HaveCount(3);
        map["a"].Should().Be("b");
        map["n"].Should().Be(5L);
        map["d"].Should().Be(4L);
    }

    [Test]
    public void Block_mapping_text_becomes_a_map()
    {
        var settings = LoadWhole("value: _env:VALUE", ("VALUE", "a: 1\nb: off"));

        var map = Map(settings.Values["value"]);
        map["a"].Should().Be(1L);
        map["b"].Should().Be(false);
    }

    [Test]
    public void List_elements_are_not_interpolated()
    {
        var settings = LoadWhole("from_env: _env:VALUE\nwritten: [_env:INNER, b]", ("VALUE", "[_env:INNER]"), ("INNER", "5"));

        List(settings.Values["from_env"]).Should().Equal("_env:INNER");
        List(settings.Values["written"]).Should().Equal("_env:INNER", "b");
    }

    [Test]
    public void Maps_inside_lists_are_not_interpolated()
    {
        var settings = LoadWhole("items:\n  - name: _env:INNER", ("INNER", "5"));

        Map(List(settings.Values["items"])[0])["name"].Should().Be("_env:INNER");
    }

    [Test]
    public void A_string_from_a_variable_is_not_resolved_again()
    {
        var settings = LoadWhole("value: _env:VALUE", ("VALUE", "_env:INNER"), ("INNER", "5"));

        settings.Values["value"].Should().Be("_env:INNER");
    }

    [Test]
    public void Only_strings_starting_with_env_prefix_are_interpolated()
    {
        var settings = LoadWhole("a: x_env:VALUE\nb: '_env'\nc: ' _env:VALUE'", ("VALUE", "5"));

        settings.Values["a"].Should().Be("x_env:VALUE");
        settings.Values["b"].Should().Be("_env");
        settings.Values["c"].Should().Be(" _env:VALUE");
    }

    [Test]
    public void Nested_section_values_are_interpolated()
    {
        var settings = LoadWhole("mirroring:\n  source: _env:MIRROR_SOURCE\n  tags_cache_ttl: _env:TTL:60", ("MIRROR_SOURCE", "https://registry-1.docker.io"));

        settings.MirrorSource.Should().Be("https://registry-1.docker.io");
        settings.MirrorTagsCacheTtlSeconds.Should().Be(60);
    }

    [Test]
    public void Unparsable_variable_text_is_a_config_error_naming_key_and_variable()
    {
        var file = Path.Combine(TempDir, "config.yml");

        var act = () => LoadWhole("cors:\n  headers: _env:CORS_HEADERS", ("CORS_HEADERS", "[a"));

        act.Should().Throw<ConfigException>().Which.Message.Should().StartWith(
            $"config error in {file}, flavor \"\" (the whole document), key \"cors.headers\" (from $CORS_HEADERS=\"[a\"): the value is not valid YAML (line ");
    }

    [Test]
    public void Unparsable_default_is_a_config_error_naming_the_default()
    {
        var act = () => LoadWhole("value: \"_env:VALUE:{a\"");

        act.Should().Throw<ConfigException>().Which.Message.Should().Contain("key \"value\" (from $VALUE, unset, default \"{a\"): the value is not valid YAML");
    }

    [Test]
    public void Variable_that_refers_back_to_itself_is_a_config_error()
    {
        var act = () => LoadWhole("value: _env:LOOP", ("LOOP", "{a: _env:LOOP}"));

        act.Should().Throw<ConfigException>().Which.Message.Should().Contain("key \"value.a\" (from $LOOP=\"{a: _env:LOOP}\"): $LOOP refers back to itself");
    }
}
