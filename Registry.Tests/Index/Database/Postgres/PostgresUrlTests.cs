using FluentAssertions;
using Npgsql;
using NUnit.Framework;
using Registry.Index.Database.Postgres;

namespace Registry.Tests.Index.Database.Postgres;

/// <summary>The SQLAlchemy URL forms of <c>sqlalchemy_index_database</c> turned into Npgsql settings.</summary>
public class PostgresUrlTests
{
    [TestCase("postgresql://registry:secret@db.example:6543/index")]
    [TestCase("postgresql+psycopg2://registry:secret@db.example:6543/index")]
    [TestCase("postgres://registry:secret@db.example:6543/index")]
    [TestCase("PostgreSQL+pg8000://registry:secret@db.example:6543/index")]
    public void The_usual_forms_give_user_password_host_port_and_database(string url)
    {
        var settings = PostgresUrl.Parse(url, pgPassword: null);

        settings.Username.Should().Be("registry");
        settings.Password.Should().Be("secret");
        settings.Host.Should().Be("db.example");
        settings.Port.Should().Be(6543);
        settings.Database.Should().Be("index");
    }

    [Test]
    public void Missing_parts_take_libpq_defaults()
    {
        var settings = PostgresUrl.Parse("postgresql://db/index", pgPassword: null);

        settings.Host.Should().Be("db");
        settings.Port.Should().Be(5432);
        settings.Username.Should().BeNull();
        settings.Password.Should().BeNull();
        PostgresUrl.Parse("postgresql:///index", null).Host.Should().Be("localhost");
    }

    [Test]
    public void Percent_encoded_credentials_and_ipv6_hosts_are_decoded()
    {
        var settings = PostgresUrl.Parse("postgresql://reg%40istry:p%40ss%3Aw%2Frd@[::1]:5433/my%20db", null);

        settings.Username.Should().Be("reg@istry");
        settings.Password.Should().Be("p@ss:w/rd");
        settings.Host.Should().Be("::1");
        settings.Port.Should().Be(5433);
        settings.Database.Should().Be("my db");
    }

    [Test]
    public void The_password_comes_from_PGPASSWORD_only_when_the_url_has_none()
    {
        PostgresUrl.Parse("postgresql://registry@db/index", "from-env").Password.Should().Be("from-env");
        PostgresUrl.Parse("postgresql://registry:in-url@db/index", "from-env").Password.Should().Be("in-url");
    }

    [TestCase("disable", SslMode.Disable)]
    [TestCase("prefer", SslMode.Prefer)]
    [TestCase("require", SslMode.Require)]
    [TestCase("verify-ca", SslMode.VerifyCA)]
    [TestCase("verify-full", SslMode.VerifyFull)]
    public void Sslmode_is_taken_from_the_query(string value, SslMode expected) =>
        PostgresUrl.Parse($"postgresql://db/index?sslmode={value}", null).SslMode.Should().Be(expected);

    [Test]
    public void A_unix_socket_directory_may_be_given_as_the_host_parameter()
    {
        var settings = PostgresUrl.Parse("postgresql://registry@/index?host=/var/run/postgresql&application_name=registry", null);

        settings.Host.Should().Be("/var/run/postgresql");
        settings.ApplicationName.Should().Be("registry");
    }

    [TestCase("postgresql://db/index?sslmode=sometimes", "sslmode 'sometimes'")]
    [TestCase("postgresql://db/index?pool=5", "'pool' is not supported")]
    [TestCase("postgresql://db:port/index", "the port 'port'")]
    [TestCase("postgresql://db:70000/index", "the port '70000'")]
    public void Bad_values_are_refused_by_name(string url, string expected)
    {
        var act = () => PostgresUrl.Parse(url, null);

        act.Should().Throw<ArgumentException>().WithMessage($"*{expected}*");
    }

    [Test]
    public void A_bad_url_is_refused_without_its_password()
    {
        var act = () => PostgresUrl.Parse("postgresql://registry:topsecret@db:x/index", null);

        act.Should().Throw<ArgumentException>().Which.Message.Should().NotContain("topsecret");
    }

    [TestCase("postgresql://registry:secret@db:5432/index", "postgresql://registry:***@db:5432/index")]
    [TestCase("postgresql+psycopg2://registry:s@cr:et@db/index?sslmode=require", "postgresql+psycopg2://registry:***@db/index?sslmode=require")]
    [TestCase("postgresql://registry@db/index", "postgresql://registry@db/index")]
    [TestCase("postgresql://db/index", "postgresql://db/index")]
    [TestCase("postgresql:///index", "postgresql:///index")]
    public void Masked_hides_only_the_password(string url, string expected) => PostgresUrl.Masked(url).Should().Be(expected);

    [TestCase("postgresql://db/x", true)]
    [TestCase("postgres+asyncpg://db/x", true)]
    [TestCase("sqlite:////data/postgres.db", false)]
    [TestCase("/data/postgresql.db", false)]
    [TestCase("mysql://db/x", false)]
    public void IsPostgres_looks_at_the_scheme_only(string value, bool expected) => PostgresUrl.IsPostgres(value).Should().Be(expected);
}
