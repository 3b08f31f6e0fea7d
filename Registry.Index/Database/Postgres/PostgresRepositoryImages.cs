using Dapper;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Repositories;
using Registry.Index.Search;

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
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_image_repositories WHERE repository = @repository", new { repository }, tx, cancellationToken: ct));
        await InsertAsync(connection, tx, repository, imageIds, ct);
        await tx.CommitAsync(ct);
    }

    /// <inheritdoc />
    public Task RemoveRepositoryAsync(string repository, CancellationToken ct) => SetAsync(repository, [], ct);

    /// <inheritdoc />
    public async Task AddAsync(string repository, IEnumerable<string> imageIds, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await InsertAsync(connection, null, repository, imageIds, ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> RepositoriesOfAsync(string imageId, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT repository FROM registry_image_repositories WHERE image_id = @imageId", new { imageId }, cancellationToken: ct))).ToList();
    }

    /// <inheritdoc />
    public async Task<bool> ContainsAsync(string repository, string imageId, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM registry_image_repositories WHERE image_id = @imageId AND repository = @repository)",
            new { imageId, repository }, cancellationToken: ct));
    }

    /// <inheritdoc />
    public async Task<long> CountAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM registry_image_repositories", cancellationToken: ct));
    }

    /// <inheritdoc />
    /// <remarks>The same walk as the SQLite engine's: every repository's <c>_index_images</c> and the ancestry of every tag.</remarks>
    public async Task<int> RebuildAsync(IStorageDriver storage, CancellationToken ct)
    {
        await using (var connection = await database.OpenConnectionAsync(ct))
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_image_repositories", cancellationToken: ct));
        var repositories = 0;
        foreach (var nsPath in await storage.ListAsync(StoragePaths.RepositoriesDir, ct))
        foreach (var repoPath in await storage.ListAsync(nsPath, ct))
        {
            var name = StoragePaths.RepositoryFromDisk(StoragePaths.FileName(nsPath), StoragePaths.FileName(repoPath));
            if (StoragePaths.RepositoryDir(name) != repoPath) continue;
            var ids = new List<string>();
            if (await storage.GetContentAsync(StoragePaths.IndexImages(name), ct) is { } list)
                ids.AddRange(IndexImagesService.ImageIds(IndexImagesService.ParseStored(list)));
            foreach (var path in await storage.ListAsync(repoPath, ct))
            {
                if (!RepositoryCatalog.IsTagFileName(StoragePaths.FileName(path))) continue;
                var tagged = await storage.GetContentAsync(path, ct);
                if (tagged is null || !ImageId.TryParse(System.Text.Encoding.UTF8.GetString(tagged).Trim(), out var id)) continue;
                ids.AddRange(await AncestryAsync(storage, id, ct));
            }
            if (ids.Count == 0) continue;
            await SetAsync(name.FullName, ids, ct);
            repositories++;
        }
        return repositories;
    }

    private static async Task<IReadOnlyList<string>> AncestryAsync(IStorageDriver storage, ImageId id, CancellationToken ct)
    {
        var stored = await storage.GetContentAsync(StoragePaths.ImageAncestry(id), ct);
        try
        {
            return stored is null ? [id.Value] : System.Text.Json.JsonSerializer.Deserialize<List<string>>(stored) ?? [id.Value];
        }
        catch (System.Text.Json.JsonException)
        {
            return [id.Value];
        }
    }

    private static Task InsertAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction? tx, string repository, IEnumerable<string> imageIds, CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO registry_image_repositories (image_id, repository)
            SELECT DISTINCT image, @repository FROM unnest(@images) AS image
            ON CONFLICT DO NOTHING
            """, new { repository, images = imageIds.Distinct().ToArray() }, tx, cancellationToken: ct));
}
