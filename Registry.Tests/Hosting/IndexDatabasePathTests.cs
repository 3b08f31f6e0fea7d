using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Index;
using Registry.Index.Database;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary><c>sqlalchemy_index_database</c>: SQLite files and PostgreSQL URLs are opened; other engines stop start-up naming key and variable.</summary>
public class IndexDatabasePathTests : ConfigTestBase
{
    [Test]
    public void A_postgresql_url_is_described_with_its_password_masked() =>
        IndexDatabase.Describe(LoadSample(("SQLALCHEMY_INDEX_DATABASE", "postgresql+psycopg2://registry:secret@db/registry")))
            .Should().Be("postgresql+psycopg2://registry:***@db/registry");

    [Test]
    public async Task A_postgresql_url_with_a_bad_parameter_stops_start_up_without_its_value()
    {
        var settings = LoadSample(("SQLALCHEMY_INDEX_DATABASE", "postgresql://registry:secret@db/registry?sslmode=sometimes"));

        var act = () => IndexDatabase.OpenAsync(settings, default);

        (await act.Should().ThrowAsync<ConfigException>()).Which.Message.Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"sqlalchemy_index_database\" (from $SQLALCHEMY_INDEX_DATABASE=\"***\"): " +
            "sslmode 'sometimes' is not one of disable, allow, prefer, require, verify-ca, verify-full");
    }

    [Test]
    public void Another_engine_keeps_the_value_out_of_the_line_when_it_carries_credentials()
    {
        var settings = LoadSample(("SQLALCHEMY_INDEX_DATABASE", "mysql://root:secret@db/registry"));

        var act = () => IndexDatabase.Describe(settings);

        act.Should().Throw<ConfigException>().Which.Message.Should().Be(
            $"config error in {SampleFile}, flavor \"dev\", key \"sqlalchemy_index_database\" (from $SQLALCHEMY_INDEX_DATABASE=\"***\"): " +
            "sqlalchemy_index_database uses 'mysql://', but only SQLite and PostgreSQL are supported: use sqlite:////absolute/path.db, " +
            "sqlite:///relative/path.db, a plain file path or postgresql://user:password@host:port/database.");
    }

    [Test]
    public void A_plain_file_named_after_an_engine_is_a_file() =>
        IndexDatabase.Describe(LoadSample(("SQLALCHEMY_INDEX_DATABASE", "/data/postgres.db"))).Should().Be("/data/postgres.db");
}
