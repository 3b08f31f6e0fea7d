using Dapper;
using Microsoft.Data.Sqlite;
using Registry.Core.Names;
using Registry.Core.Storage;
using Registry.Index.Accounts;
using Registry.Index.Search;
using Registry.Index.Repositories;

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

    public async Task<long> CountAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM registry_image_repositories", cancellationToken: ct));
    }

    /// <summary>
    /// Refills the table from storage: every repository's <c>_index_images</c> and the ancestry of every tag
    /// (a data directory from before authentication was on, or after an unclean stop).
    /// </summary>
    public async Task<int> RebuildAsync(IStorageDriver storage, CancellationToken ct)
    {
        await using (var connection = await OpenAsync(ct))
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

    /// <summary>The image and its ancestors as its ancestry file lists them; the image alone when unreadable.</summary>
    public static async Task<IReadOnlyList<string>> AncestryAsync(IStorageDriver storage, ImageId id, CancellationToken ct)
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

    private Task<SqliteConnection> OpenAsync(CancellationToken ct) => database.OpenConnectionAsync(ct);
}
