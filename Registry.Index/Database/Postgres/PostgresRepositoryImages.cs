using Dapper;
using Registry.Index.Accounts;

namespace Registry.Index.Database.Postgres;

/// <summary>
/// Which repositories list an image, in the PostgreSQL index database (the table of
/// <see cref="PostgresMigrations"/> version 2).
/// </summary>
public sealed class PostgresRepositoryImages(PostgresIndexDatabase database) : IRepositoryImages
{
    /// <inheritdoc />
    public async Task SetAsync(string repository, IEnumerable<string> imageIds, CancellationToken ct)
    {
        await database.RunAsync(async connection =>
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM registry_image_repositories WHERE repository = @repository", new { repository }, tx, cancellationToken: ct));
            await InsertAsync(connection, tx, repository, imageIds, ct);
            await tx.CommitAsync(ct);
        }, ct);
    }

    /// <inheritdoc />
    public Task RemoveRepositoryAsync(string repository, CancellationToken ct) => SetAsync(repository, [], ct);

    /// <inheritdoc />
    public async Task AddAsync(string repository, IEnumerable<string> imageIds, CancellationToken ct)
    {
        await database.RunAsync(async connection =>
        {
            await InsertAsync(connection, null, repository, imageIds, ct);
        }, ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> RepositoriesOfAsync(string imageId, CancellationToken ct)
    {
        return await database.RunAsync(async connection =>
        {
            return (await connection.QueryAsync<string>(new CommandDefinition(
                "SELECT repository FROM registry_image_repositories WHERE image_id = @imageId", new { imageId }, cancellationToken: ct))).ToList();
        }, ct);
    }

    /// <inheritdoc />
    public async Task<bool> ContainsAsync(string repository, string imageId, CancellationToken ct)
    {
        return await database.RunAsync(async connection =>
        {
            return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM registry_image_repositories WHERE image_id = @imageId AND repository = @repository)",
                new { imageId, repository }, cancellationToken: ct));
        }, ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<(string Repository, string ImageId)>> ListAllAsync(CancellationToken ct)
    {
        return await database.RunAsync(async connection =>
        {
            return (await connection.QueryAsync<(string, string)>(new CommandDefinition(
                "SELECT repository, image_id FROM registry_image_repositories ORDER BY repository COLLATE \"C\", image_id COLLATE \"C\"", cancellationToken: ct))).ToList();
        }, ct);
    }

    /// <inheritdoc />
    public async Task<long> CountAsync(CancellationToken ct)
    {
        return await database.RunAsync(async connection =>
        {
            return await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM registry_image_repositories", cancellationToken: ct));
        }, ct);
    }

    /// <inheritdoc />
    public async Task ClearAsync(CancellationToken ct)
    {
        await database.RunAsync(async connection =>
        {
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_image_repositories", cancellationToken: ct));
        }, ct);
    }

    private static Task InsertAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction? tx, string repository, IEnumerable<string> imageIds, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO registry_image_repositories (image_id, repository)
            SELECT DISTINCT image, @repository FROM unnest(@images) AS image
            ON CONFLICT DO NOTHING
            """, new { repository, images = imageIds.Distinct().ToArray() }, tx, cancellationToken: ct));
}
