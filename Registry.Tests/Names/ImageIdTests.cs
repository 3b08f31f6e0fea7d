using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Names;

namespace Registry.Tests.Names;

public class ImageIdTests
{
    private const string Id64 = "511136ea3c5a64f264b78b5433614aec563103b4d4702f3ba7d4d2698e22c158";

    [TestCase(Id64)]
    [TestCase("0123456789abcdef")]
    [TestCase("ffffffffffffffff")]
    public void Sixteen_or_64_lowercase_hex_characters_are_an_id(string s)
    {
        ImageId.TryParse(s, out var id).Should().BeTrue();
        id.Value.Should().Be(s);
        id.ToString().Should().Be(s);
    }

    [TestCase("511136EA3C5A64F264B78B5433614AEC563103B4D4702F3BA7D4D2698E22C158")]
    [TestCase("511136ea3c5a64f264b78b5433614aec563103b4d4702f3ba7d4d2698e22c15")]
    [TestCase("511136ea3c5a64f264b78b5433614aec563103b4d4702f3ba7d4d2698e22c1580")]
    [TestCase("511136ea3c5a64f264b78b5433614aec563103b4d4702f3ba7d4d2698e22c15g")]
    [TestCase("0123456789ABCDEF")]
    [TestCase("0123456789abcde")]
    [TestCase("0123456789abcdef0")]
    [TestCase("0123456789abcde\n")]
    [TestCase("0123456789abcdé0")]
    [TestCase("")]
    [TestCase(null)]
    public void Anything_else_is_rejected(string? s)
    {
        ImageId.TryParse(s, out var id).Should().BeFalse();
        id.Should().Be(default(ImageId));
    }
}
