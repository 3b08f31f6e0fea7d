using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary><c>--help</c>, usage errors and the plain progress summary of the binary's verbs, run as a real process.</summary>
[Category("e2e")]
public class CommandLineTests
{
    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("registry-cli-help-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private Dictionary<string, string?> Env(string database = "search.db") => new()
    {
        ["STORAGE_PATH"] = Path.Combine(_root, "storage"),
        ["SQLALCHEMY_INDEX_DATABASE"] = "sqlite:///" + Path.Combine(_root, database),
    };

    [TestCase("--help")]
    [TestCase("-h")]
    [TestCase("help")]
    public async Task Top_level_help_lists_every_verb(string flag)
    {
        var result = await RegistryProcess.RunOnceAsync(Env(), flag);

        result.ExitCode.Should().Be(0, result.ToString());
        var lines = result.Stdout.Split('\n');
        lines[0].Should().Be("usage: registry [VERB] [OPTIONS]");
        lines.Where(l => l.StartsWith("  ", StringComparison.Ordinal)).Select(l => l.Trim().Split(' ')[0])
            .Should().Equal("serve", "config", "htpasswd", "reindex", "gc", "copy-index");
        result.Stderr.Should().BeEmpty();
    }

    [TestCase("serve", "usage: registry [serve] [ASP.NET Core host options]")]
    [TestCase("config", "usage: registry config")]
    [TestCase("htpasswd", "usage: registry htpasswd -Bbn USER PASSWORD")]
    [TestCase("reindex", "usage: registry reindex")]
    [TestCase("gc", "usage: registry gc [--dry-run] [--delete-untagged]")]
    [TestCase("copy-index", "usage: registry copy-index --from SQLITE_FILE_OR_URL [--replace]")]
    public async Task Every_verb_has_help_with_its_usage_what_it_does_and_its_options(string verb, string usage)
    {
        foreach (var flag in new[] { "--help", "-h" })
        {
            var result = await RegistryProcess.RunOnceAsync(Env(), verb, flag);

            result.ExitCode.Should().Be(0, result.ToString());
            var lines = result.Stdout.Split('\n');
            lines[0].Should().Be(usage);
            lines[1].Should().BeEmpty();
            lines[2].Should().NotBeEmpty();
            result.Stdout.Should().Contain("\noptions:\n  -h, --help ");
            result.Stderr.Should().BeEmpty();
        }
        // Help never does the verb's work: no storage or database was created.
        Directory.Exists(Path.Combine(_root, "storage")).Should().BeFalse();
        File.Exists(Path.Combine(_root, "search.db")).Should().BeFalse();
    }

    [TestCase("config", "--verbose", "config: unknown option --verbose; usage: registry config (see registry config --help)")]
    [TestCase("reindex", "--all", "reindex: unknown option --all; usage: registry reindex (see registry reindex --help)")]
    [TestCase("gc", "--force", "gc: unknown option --force; usage: registry gc [--dry-run] [--delete-untagged] (see registry gc --help)")]
    [TestCase("copy-index", "--to", "copy-index: unknown option --to; usage: registry copy-index --from SQLITE_FILE_OR_URL [--replace] (see registry copy-index --help)")]
    [TestCase("htpasswd", "-Bbnx", "htpasswd: unknown option -x; usage: registry htpasswd -Bbn USER PASSWORD (see registry htpasswd --help)")]
    public async Task An_unknown_option_is_one_line_and_exit_code_2(string verb, string option, string expected)
    {
        var result = await RegistryProcess.RunOnceAsync(Env(), verb, option);

        result.ExitCode.Should().Be(2);
        result.Stderr.Should().Be(expected + "\n");
        result.Stdout.Should().BeEmpty();
    }

    [Test]
    public async Task Gc_and_copy_index_end_with_one_plain_summary_line_when_stderr_is_not_a_terminal()
    {
        // An image no tag references, older than the grace window: gc deletes it.
        var image = Path.Combine(_root, "storage/images", new string('a', 64));
        Directory.CreateDirectory(image);
        File.WriteAllText(Path.Combine(image, "json"), "{\"id\": \"" + new string('a', 64) + "\"}");
        File.WriteAllText(Path.Combine(image, "layer"), "layer bytes");
        File.WriteAllText(Path.Combine(image, "_checksum"), "sha256:00");
        var env = Env();
        env["REGISTRY_GC_GRACE_SECONDS"] = "0";

        var gc = await RegistryProcess.RunOnceAsync(env, "gc");

        gc.ExitCode.Should().Be(0, gc.ToString());
        Directory.Exists(image).Should().BeFalse(gc.ToString());
        gc.Stderr.Should().MatchRegex(@"^gc: 1 items in \d+\.\d s \([\d,-]+/s\)\n$");

        var repo = Path.Combine(_root, "storage/repositories/team/found");
        Directory.CreateDirectory(repo);
        File.WriteAllText(Path.Combine(repo, "_index_images"), "[]");
        (await RegistryProcess.RunOnceAsync(env, "reindex")).ExitCode.Should().Be(0);
        var copy = await RegistryProcess.RunOnceAsync(Env("copy.db"), "copy-index", "--from", Path.Combine(_root, "search.db"));

        copy.ExitCode.Should().Be(0, copy.ToString());
        copy.Stdout.Should().Contain("search repositories: 1\n");
        copy.Stderr.Should().MatchRegex(@"^copy-index: 1 rows in \d+\.\d s \([\d,-]+/s\)\n$");
    }
}
