using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Configuration;

/// <summary>Values written in the file follow YAML 1.1 too (the original reads the file with PyYAML).</summary>
public class PlainValueTests : ConfigTestBase
{
    [TestCase("yes", true)]
    [TestCase("Off", false)]
    [TestCase("'yes'", "yes")]
    [TestCase("\"on\"", "on")]
    [TestCase("010", 8L)]
    [TestCase("0x1F", 31L)]
    [TestCase("1:20", 80L)]
    [TestCase("~", null)]
    [TestCase("", null)]
    [TestCase("!!str 10", "10")]
    [TestCase("!!str yes", "yes")]
    [TestCase("!!int \"12\"", 12L)]
    [TestCase("!!float 3", 3.0)]
    [TestCase("!!bool \"on\"", true)]
    [TestCase("!!null x", null)]
    [TestCase("plain text", "plain text")]
    [TestCase("|\n  two\n  lines", "two\nlines\n")]
    public void Written_value_resolves_with_yaml_1_1_rules(string written, object? expected)
    {
        var settings = LoadWhole($"value: {written}\n");

        settings.Values["value"].Should().Be(expected);
    }

    [Test]
    public void Debug_yes_is_a_boolean_setting()
    {
        var settings = LoadWhole("debug: yes\nstandalone: on");

        settings.Debug.Should().BeTrue();
        settings.Standalone.Should().BeTrue();
    }

    [Test]
    public void Duplicate_keys_keep_the_last_value()
    {
        var settings = LoadWhole("value: 1\nvalue: 2");

        settings.Values["value"].Should().Be(2L);
    }
}
