using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Names;

namespace Registry.Tests.Names;

public class RepositoryNameTests
{
    [TestCase("busybox", "library", "busybox")]
    [TestCase("busybox/", "library", "busybox")]
    [TestCase("busybox///", "library", "busybox")]
    [TestCase("library/busybox", "library", "busybox")]
    [TestCase("user/repo", "user", "repo")]
    [TestCase("user/repo/", "user", "repo")]
    [TestCase("a/b/c", "a", "b%2Fc")]
    [TestCase("a//b", "a", "%2Fb")]
    [TestCase("ns/abcde%$_-test", "ns", "abcde%25%24_-test")]
    [TestCase("a b/c d", "a b", "c+d")]
    [TestCase("éns/😀", "éns", "%F0%9F%98%80")]
    public void Parses_namespace_and_singly_escaped_repository(string decoded, string ns, string repo)
    {
        RepositoryName.TryParse(decoded, out var name, out _).Should().BeTrue();

        name.Should().Be(new RepositoryName(ns, repo));
        name.FullName.Should().Be($"{ns}/{repo}");
        name.ToString().Should().Be($"{ns}/{repo}");
    }

    [TestCase("")]
    [TestCase("/")]
    [TestCase("///")]
    [TestCase("/busybox")]
    [TestCase(null)]
    public void Empty_parts_are_rejected(string? decoded)
    {
        RepositoryName.TryParse(decoded, out _, out var error).Should().BeFalse();
        error.Should().Be("Invalid repository name");
    }

    [TestCase("bus\u0000ybox")]
    [TestCase("busybox\n")]
    [TestCase("ns\t/repo")]
    [TestCase("ns/re\u007fpo")]
    [TestCase("ns/re\u0085po")]
    public void Control_characters_are_rejected(string decoded)
    {
        RepositoryName.TryParse(decoded, out _, out var error).Should().BeFalse();
        error.Should().Be("Invalid repository name");
    }

    [Test]
    public void Components_up_to_255_on_disk_bytes_are_accepted()
    {
        var ns = new string('n', 255);
        var repo = new string('r', 255);

        RepositoryName.TryParse($"{ns}/{repo}", out var name, out _).Should().BeTrue();
        name.Should().Be(new RepositoryName(ns, repo));
    }

    [TestCase(256, 1)]
    [TestCase(1, 256)]
    public void Overlong_components_are_rejected(int nsLength, int repoLength)
    {
        var decoded = $"{new string('n', nsLength)}/{new string('r', repoLength)}";

        RepositoryName.TryParse(decoded, out _, out var error).Should().BeFalse();
        error.Should().Be("Repository name too long");
    }

    [Test]
    public void The_limit_counts_the_doubly_escaped_repository()
    {
        // 51 x '%' is 51 bytes in the URL but "%2525" x 51 = 255 on disk; one more is too long.
        RepositoryName.TryParse("ns/" + new string('%', 51), out _, out _).Should().BeTrue();
        RepositoryName.TryParse("ns/" + new string('%', 52), out _, out var error).Should().BeFalse();
        error.Should().Be("Repository name too long");
    }

    [Test]
    public void The_limit_counts_the_escaped_namespace()
    {
        // 'é' is "%C3%A9" (6 bytes) on disk: 42 of them make 252 bytes, 43 make 258.
        RepositoryName.TryParse(new string('é', 42) + "/r", out _, out _).Should().BeTrue();
        RepositoryName.TryParse(new string('é', 43) + "/r", out _, out var error).Should().BeFalse();
        error.Should().Be("Repository name too long");
    }

    [TestCase("busybox", "library", "busybox")]
    [TestCase("user/repo", "user", "repo")]
    [TestCase("a/b%2Fc", "a", "b%2Fc")]
    public void FromLogical_splits_at_the_first_slash(string logical, string ns, string repo) =>
        RepositoryName.FromLogical(logical).Should().Be(new RepositoryName(ns, repo));
}
