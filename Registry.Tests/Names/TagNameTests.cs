using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Names;

namespace Registry.Tests.Names;

public class TagNameTests
{
    [TestCase("latest")]
    [TestCase("_valid")]
    [TestCase("0")]
    [TestCase("v1.2.3-rc_1")]
    [TestCase("A.-_")]
    public void Valid_tags(string tag) => TagName.IsValid(tag).Should().BeTrue();

    [Test]
    public void A_tag_of_128_characters_is_valid() => TagName.IsValid(new string('a', 128)).Should().BeTrue();

    [TestCase(".x")]
    [TestCase("-x")]
    [TestCase("$<x>")]
    [TestCase("a\n")]
    [TestCase("a b")]
    [TestCase("a/b")]
    [TestCase("a:b")]
    [TestCase("é")]
    [TestCase("aé")]
    [TestCase("")]
    [TestCase(null)]
    public void Invalid_tags(string? tag) => TagName.IsValid(tag).Should().BeFalse();

    [Test]
    public void A_tag_of_129_characters_is_invalid() => TagName.IsValid(new string('a', 129)).Should().BeFalse();

    [Test]
    public void The_message_is_the_originals() =>
        TagName.InvalidMessage.Should().Be(@"Invalid tag name (must match ^[\w][\w.-]{0,127}$)");
}
