using Dapper;
using Microsoft.Data.Sqlite;
using Registry.Index.Accounts;

namespace Registry.Index.Database.Sqlite;

/// <summary>
/// Which repositories list an image, in the SQLite index database (the table of <see cref="SqliteMigrations"/>
/// version 6).
/// </summary>
public sealed class SqliteRepositoryImages(SqliteIndexDatabase database) : IRepositoryImages
{
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

    /// <inheritdoc />
    public async Task<IReadOnlyList<(string Repository, string ImageId)>> ListAllAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return (await connection.QueryAsync<(string, string)>(new CommandDefinition(
            "SELECT repository, image_id FROM registry_image_repositories ORDER BY repository, image_id", cancellationToken: ct))).ToList();
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

    private Task<SqliteConnection> OpenAsync(CancellationToken ct) => database.OpenConnectionAsync(ct);
}
