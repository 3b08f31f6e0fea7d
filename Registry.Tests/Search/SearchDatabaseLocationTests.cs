using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Search;

namespace Registry.Tests.Search;

public class SearchDatabaseLocationTests
{
    private const string WorkingDirectory = "/srv/registry";

    [TestCase("sqlite:////tmp/docker-registry.db", "/tmp/docker-registry.db")]
    [TestCase("sqlite:///index.db", "/srv/registry/index.db")]
    [TestCase("sqlite:///data/index.db", "/srv/registry/data/index.db")]
    [TestCase("sqlite+pysqlite:////var/lib/index.db", "/var/lib/index.db")]
    [TestCase("SQLITE:////var/lib/index.db", "/var/lib/index.db")]
    [TestCase("sqlite:////var/lib/index.db?timeout=20", "/var/lib/index.db")]
    [TestCase("/var/lib/index.db", "/var/lib/index.db")]
    [TestCase("index.db", "/srv/registry/index.db")]
    [TestCase("../other/index.db", "/srv/other/index.db")]
    [TestCase("  /var/lib/index.db  ", "/var/lib/index.db")]
    public void Parse_accepts_sqlalchemy_urls_and_plain_paths(string value, string expected)
    {
        SearchDatabaseLocation.Parse(value, WorkingDirectory).Should().Be(expected);
    }

    [TestCase("postgresql://user:secret@db/registry", "postgresql://")]
    [TestCase("mysql+pymysql://user:secret@db/registry", "mysql+pymysql://")]
    public void Parse_rejects_other_databases_without_echoing_credentials(string value, string scheme)
    {
        var act = () => SearchDatabaseLocation.Parse(value, WorkingDirectory);

        var error = act.Should().Throw<ArgumentException>().Which;
        error.Message.Should().Contain(scheme).And.Contain("only SQLite and PostgreSQL are supported").And.NotContain("secret");
    }

    [TestCase("sqlite://")]
    [TestCase("sqlite:///:memory:")]
    [TestCase("sqlite:///")]
    public void Parse_rejects_in_memory_databases(string value)
    {
        var act = () => SearchDatabaseLocation.Parse(value, WorkingDirectory);

        act.Should().Throw<ArgumentException>().WithMessage("*in-memory*");
    }

    [Test]
    public void Parse_rejects_an_empty_value()
    {
        var act = () => SearchDatabaseLocation.Parse(" ", WorkingDirectory);

        act.Should().Throw<ArgumentException>().WithMessage("*empty*");
    }
}
