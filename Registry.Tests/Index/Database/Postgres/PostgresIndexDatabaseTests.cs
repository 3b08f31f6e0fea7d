using Dapper;
using FluentAssertions;
using Npgsql;
using NUnit.Framework;
using Registry.Index.Database;
using Registry.Index.Database.Postgres;
using Registry.Index.Search;
using Registry.Tests.Support;

namespace Registry.Tests.Index.Database.Postgres;

/// <summary>Opening the PostgreSQL index database: migrations, several instances at once, failures.</summary>
public class PostgresIndexDatabaseTests
{
    private const int LatestVersion = 13;

    [Test]
    public async Task Instances_opening_a_new_database_together_migrate_it_once()
    {
        var server = await PostgresServer.SharedAsync();
        var name = await server.CreateDatabaseAsync("together");
        var settings = new NpgsqlConnectionStringBuilder(server.ConnectionString(name));

        var opened = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => PostgresIndexDatabase.OpenAsync(settings, default))));

        await using var connection = new NpgsqlConnection(server.ConnectionString(name));
        (await connection.QuerySingleAsync<int>($"SELECT version FROM {IndexMigration.VersionTable}")).Should().Be(LatestVersion);
        (await connection.QuerySingleAsync<int>($"SELECT count(*) FROM {IndexMigration.VersionTable}")).Should().Be(1);
        await opened[0].Accounts.CreateAsync("alice", "password", "", default);
        (await opened[5].Accounts.HashOfAsync("alice", default)).Should().NotBeNull();
        foreach (var database in opened) await database.DisposeAsync();
    }

    [Test]
    public async Task Reopening_keeps_the_data()
    {
        var server = await PostgresServer.SharedAsync();
        var name = await server.CreateDatabaseAsync("reopen");
        var settings = new NpgsqlConnectionStringBuilder(server.ConnectionString(name));
        await using (var first = await PostgresIndexDatabase.OpenAsync(settings, default))
        {
            var search = await first.OpenSearchIndexAsync(false, default);
            await search.SetDescriptionAsync("team/app", "kept", default);
        }

        await using var second = await PostgresIndexDatabase.OpenAsync(settings, default);
        var index = await second.OpenSearchIndexAsync(false, default);
        (await index.SearchAsync("kept", 25, 1, default)).Results.Should().Equal(new SearchEntry("team/app", "kept"));
    }

    [Test]
    public async Task A_database_of_a_newer_registry_is_refused()
    {
        var server = await PostgresServer.SharedAsync();
        var name = await server.CreateDatabaseAsync("newer");
        var settings = new NpgsqlConnectionStringBuilder(server.ConnectionString(name));
        await (await PostgresIndexDatabase.OpenAsync(settings, default)).DisposeAsync();
        await using (var connection = new NpgsqlConnection(server.ConnectionString(name)))
            await connection.ExecuteAsync($"UPDATE {IndexMigration.VersionTable} SET version = {LatestVersion + 1}");

        var act = () => PostgresIndexDatabase.OpenAsync(settings, default);

        (await act.Should().ThrowAsync<SearchIndexException>()).Which.Failure.Should().Be(SearchIndexFailure.NewerVersion);
    }

    [Test]
    public async Task A_wrong_password_or_an_unreachable_server_is_one_message_without_the_password()
    {
        var server = await PostgresServer.SharedAsync();
        var wrongPassword = new NpgsqlConnectionStringBuilder(server.ConnectionString("postgres")) { Password = "not-the-password" };
        var nobodyListens = new NpgsqlConnectionStringBuilder(server.ConnectionString("postgres")) { Port = FreePort.Next(), Password = "hidden-secret" };

        foreach (var settings in new[] { wrongPassword, nobodyListens })
        {
            var act = () => PostgresIndexDatabase.OpenAsync(settings, default);
            var failure = (await act.Should().ThrowAsync<SearchIndexException>()).Which;
            failure.Failure.Should().Be(SearchIndexFailure.CannotOpen);
            failure.Message.Should().Contain($"127.0.0.1:{settings.Port}/postgres").And.NotContain(settings.Password!);
        }
    }
}
