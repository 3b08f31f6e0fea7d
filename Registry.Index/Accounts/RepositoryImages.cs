using Dapper;
using Microsoft.Data.Sqlite;

namespace Registry.Index.Accounts;

/// <summary>
/// Which repositories list an image (from their index image lists), kept in the index database so that a
/// read of an image can be checked against the privacy of the repositories holding it.
/// </summary>
public sealed class RepositoryImages
{
    private readonly string _connectionString;

    private RepositoryImages(string connectionString) => _connectionString = connectionString;

    public static async Task<RepositoryImages> OpenAsync(string databasePath, CancellationToken ct)
    {
        var store = new RepositoryImages(IndexDatabase.ConnectionString(databasePath));
        await using var connection = await store.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            CREATE TABLE IF NOT EXISTS registry_image_repositories (
                image_id   TEXT NOT NULL,
                repository TEXT NOT NULL,
                PRIMARY KEY (image_id, repository)
            ) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS registry_image_repositories_repo ON registry_image_repositories (repository);
            """, cancellationToken: ct));
        return store;
    }

    /// <summary>Replaces the images listed for one repository.</summary>
    public async Task SetAsync(string repository, IEnumerable<string> imageIds, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_image_repositories WHERE repository = @repository", new { repository }, tx, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT OR IGNORE INTO registry_image_repositories (image_id, repository) VALUES (@image, @repository)",
            imageIds.Distinct().Select(image => new { image, repository }), tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
    }

    public Task RemoveRepositoryAsync(string repository, CancellationToken ct) => SetAsync(repository, [], ct);

    /// <summary>Adds images to a repository's record (a tag's image and its ancestry), keeping the rest.</summary>
    public async Task AddAsync(string repository, IEnumerable<string> imageIds, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT OR IGNORE INTO registry_image_repositories (image_id, repository) VALUES (@image, @repository)",
            imageIds.Distinct().Select(image => new { image, repository }), tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
    }

    public async Task<IReadOnlyList<string>> RepositoriesOfAsync(string imageId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT repository FROM registry_image_repositories WHERE image_id = @imageId", new { imageId }, cancellationToken: ct))).ToList();
    }

    public async Task<bool> ContainsAsync(string repository, string imageId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM registry_image_repositories WHERE image_id = @imageId AND repository = @repository",
            new { imageId, repository }, cancellationToken: ct)) > 0;
    }

    public async Task<long> CountAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM registry_image_repositories", cancellationToken: ct));
    }

    /// <summary>Forgets every image of every repository (before a rebuild from storage).</summary>
    public async Task ClearAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_image_repositories", cancellationToken: ct));
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken ct) => IndexDatabase.OpenAsync(_connectionString, ct);
}
