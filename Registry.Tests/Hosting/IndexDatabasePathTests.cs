using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Index;
using Registry.Index.Database;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary><c>sqlalchemy_index_database</c>: SQLite files are opened; other engines stop start-up naming key and variable.</summary>
public class IndexDatabasePathTests : ConfigTestBase
{
    [Test]
    public void A_postgresql_url_without_credentials_is_shown()
    {
        var settings = LoadSample(("SQLALCHEMY_INDEX_DATABASE", "postgresql+psycopg2://db/registry"));

        var act = () => IndexDatabase.FilePath(settings);

        act.Should().Throw<ConfigException>().Which.Message.Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"sqlalchemy_index_database\" " +
            "(from $SQLALCHEMY_INDEX_DATABASE=\"postgresql+psycopg2://db/registry\"): PostgreSQL is not supported yet; " +
            "use SQLite: sqlite:////absolute/path.db, sqlite:///relative/path.db or a plain file path");
    }

    [Test]
    public void Another_engine_keeps_the_value_out_of_the_line_when_it_carries_credentials()
    {
        var settings = LoadSample(("SQLALCHEMY_INDEX_DATABASE", "mysql://root:secret@db/registry"));

        var act = () => IndexDatabase.FilePath(settings);

        act.Should().Throw<ConfigException>().Which.Message.Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"sqlalchemy_index_database\" (from $SQLALCHEMY_INDEX_DATABASE=\"***\"): " +
            "sqlalchemy_index_database uses 'mysql://', but only SQLite is supported: use sqlite:////absolute/path.db, " +
            "sqlite:///relative/path.db or a plain file path.");
    }

    [Test]
    public void A_plain_file_named_after_an_engine_is_a_file() =>
        IndexDatabase.FilePath(LoadSample(("SQLALCHEMY_INDEX_DATABASE", "/data/postgres.db"))).Should().Be("/data/postgres.db");
}
