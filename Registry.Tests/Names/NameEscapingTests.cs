using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Names;

namespace Registry.Tests.Names;

public class NameEscapingTests
{
    [TestCase("busybox", "busybox")]
    [TestCase("AZaz09_.-", "AZaz09_.-")]
    [TestCase("a b", "a+b")]
    [TestCase("abcde%$_-test", "abcde%25%24_-test")]
    [TestCase("b/c", "b%2Fc")]
    [TestCase("~x", "%7Ex")]
    [TestCase("a+b", "a%2Bb")]
    [TestCase("é", "%C3%A9")]
    [TestCase("😀", "%F0%9F%98%80")]
    [TestCase("..", "..")]
    [TestCase("", "")]
    public void Q_is_python2_quote_plus_over_utf8(string input, string expected) =>
        NameEscaping.QuotePlus(input).Should().Be(expected);

    [TestCase("..", "%252E%252E")]
    [TestCase(".", "%252E")]
    [TestCase("...", "...")]
    [TestCase(".x", ".x")]
    [TestCase("a b", "a+b")]
    [TestCase("library", "library")]
    public void C_neutralises_dot_components(string input, string expected) =>
        NameEscaping.EscapeComponent(input).Should().Be(expected);

    // docs/storage-layout.md, 'Name escaping': the repository is escaped twice (URL parsing, then storage), the namespace once.
    [TestCase("abcde%$_-test", "abcde%2525%2524_-test")]
    [TestCase("xxxxx%$_-test", "xxxxx%2525%2524_-test")]
    [TestCase("a b", "a%2Bb")]
    [TestCase("b/c", "b%252Fc")]
    [TestCase("..", "%252E%252E")]
    [TestCase("busybox", "busybox")]
    public void A_repository_is_stored_as_C_of_Q(string repository, string onDisk) =>
        NameEscaping.EscapeComponent(NameEscaping.QuotePlus(repository)).Should().Be(onDisk);

    [TestCase("a b", "a+b")]
    [TestCase("..", "%252E%252E")]
    [TestCase(".", "%252E")]
    [TestCase("library", "library")]
    public void A_namespace_is_stored_as_C(string ns, string onDisk) => NameEscaping.EscapeComponent(ns).Should().Be(onDisk);

    [TestCase("busybox")]
    [TestCase("a b")]
    [TestCase("a+b")]
    [TestCase("abcde%$_-test")]
    [TestCase("%41 literal")]
    [TestCase("b/c/d")]
    [TestCase("é😀~")]
    [TestCase("")]
    public void Unquote_undoes_Q(string s) => NameEscaping.Unquote(NameEscaping.QuotePlus(s)).Should().Be(s);

    [TestCase("abcde%2525%2524_-test", "abcde%25%24_-test")]
    [TestCase("a%2Bb", "a+b")]
    [TestCase("a+b", "a b")]
    [TestCase("%c3%a9", "é")]
    [TestCase("100%", "100%")]
    [TestCase("%4", "%4")]
    [TestCase("%zz%41", "%zzA")]
    [TestCase("%41", "A")]
    [TestCase("plain", "plain")]
    public void Unquote_undoes_one_level_and_keeps_invalid_sequences(string s, string expected) =>
        NameEscaping.Unquote(s).Should().Be(expected);

    [TestCase("😀+", "😀 ")]
    [TestCase("é%20😀", "é 😀")]
    public void Unquote_keeps_characters_outside_the_basic_plane(string s, string expected) =>
        NameEscaping.Unquote(s).Should().Be(expected);
}
