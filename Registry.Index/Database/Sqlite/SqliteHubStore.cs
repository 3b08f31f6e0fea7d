using Dapper;
using Registry.Index.Hub;

namespace Registry.Index.Database.Sqlite;

/// <summary>Stars and comments in the SQLite index database (the tables of <see cref="SqliteMigrations"/> version 9).</summary>
public sealed class SqliteHubStore(SqliteIndexDatabase database) : IHubStore
{
    /// <summary>Recounts the stars of a repository into its search rows; the triggers of the search table move the rows in result order.</summary>
    private const string RecountSql = """
        UPDATE search_repositories SET star_count = (SELECT count(*) FROM registry_stars WHERE repository = @repository)
        WHERE name IN (@Name, @OnePart)
        """;

    /// <inheritdoc />
    public Task<bool> StarAsync(string repository, string user, CancellationToken ct) =>
        ChangeStarAsync(repository, "INSERT INTO registry_stars (repository, username, created) VALUES (@repository, @user, @created) ON CONFLICT DO NOTHING",
            user, ct);

    /// <inheritdoc />
    public Task<bool> UnstarAsync(string repository, string user, CancellationToken ct) =>
        ChangeStarAsync(repository, "DELETE FROM registry_stars WHERE repository = @repository AND username = @user", user, ct);

    private async Task<bool> ChangeStarAsync(string repository, string sql, string user, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            sql, new { repository, user, created = DateTimeOffset.UtcNow.ToUnixTimeSeconds() }, transaction, cancellationToken: ct)) > 0;
        if (changed) await RecountAsync(connection, transaction, repository, ct);
        await transaction.CommitAsync(ct);
        return changed;
    }

    private static Task RecountAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string repository, CancellationToken ct)
    {
        var (name, onePart) = HubNames.SearchRowsOf(repository);
        return connection.ExecuteAsync(new CommandDefinition(RecountSql, new { repository, Name = name, OnePart = onePart }, transaction, cancellationToken: ct));
    }

    /// <inheritdoc />
    public async Task<bool> HasStarredAsync(string repository, string user, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM registry_stars WHERE repository = @repository AND username = @user", new { repository, user }, cancellationToken: ct)) > 0;
    }

    /// <inheritdoc />
    public async Task<(long Stars, long Comments)> CountsAsync(string repository, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.QuerySingleAsync<(long, long)>(new CommandDefinition("""
            SELECT (SELECT count(*) FROM registry_stars WHERE repository = @repository),
                   (SELECT count(*) FROM registry_comments WHERE repository = @repository)
            """, new { repository }, cancellationToken: ct));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, int>> StarCountsAsync(IReadOnlyCollection<string> repositories, CancellationToken ct)
    {
        if (repositories.Count == 0) return new Dictionary<string, int>();
        await using var connection = await database.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<(string Repository, int Count)>(new CommandDefinition(
            "SELECT repository, count(*) FROM registry_stars WHERE repository IN @repositories GROUP BY repository",
            new { repositories }, cancellationToken: ct));
        return rows.ToDictionary(r => r.Repository, r => r.Count, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public async Task<HubPage<RepositoryStar>> StargazersAsync(string repository, long offset, int limit, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        using var results = await connection.QueryMultipleAsync(new CommandDefinition("""
            SELECT repository, username AS User, created FROM registry_stars WHERE repository = @repository
            ORDER BY created, username LIMIT @limit OFFSET @offset;
            SELECT count(*) FROM registry_stars WHERE repository = @repository;
            """, new { repository, limit, offset }, cancellationToken: ct));
        var items = (await results.ReadAsync<RepositoryStar>()).AsList();
        return new HubPage<RepositoryStar>(items, await results.ReadSingleAsync<long>());
    }

    /// <inheritdoc />
    public async Task<HubPage<RepositoryStar>> StarredAsync(string user, PrivateVisibility visibility, long offset, int limit, CancellationToken ct)
    {
        const string visible = """
            username = @user AND (@All OR NOT EXISTS (SELECT 1 FROM registry_private_repositories p
                WHERE p.name = registry_stars.repository AND p.namespace IS NOT @Namespace))
            """;
        await using var connection = await database.OpenConnectionAsync(ct);
        using var results = await connection.QueryMultipleAsync(new CommandDefinition($"""
            SELECT repository, username AS User, created FROM registry_stars WHERE {visible}
            ORDER BY created DESC, repository LIMIT @limit OFFSET @offset;
            SELECT count(*) FROM registry_stars WHERE {visible};
            """, new { user, visibility.All, visibility.Namespace, limit, offset }, cancellationToken: ct));
        var items = (await results.ReadAsync<RepositoryStar>()).AsList();
        return new HubPage<RepositoryStar>(items, await results.ReadSingleAsync<long>());
    }

    /// <inheritdoc />
    public async Task<RepositoryComment> AddCommentAsync(string repository, string user, string text, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "INSERT INTO registry_comments (repository, username, body, created) VALUES (@repository, @user, @text, @created) RETURNING id",
            new { repository, user, text, created }, cancellationToken: ct));
        return new RepositoryComment(id, repository, user, text, created);
    }

    private const string CommentColumns = "id, repository, username AS User, body AS Text, created";

    /// <inheritdoc />
    public async Task<RepositoryComment?> GetCommentAsync(string repository, long id, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<RepositoryComment>(new CommandDefinition(
            $"SELECT {CommentColumns} FROM registry_comments WHERE repository = @repository AND id = @id", new { repository, id }, cancellationToken: ct));
    }

    /// <inheritdoc />
    public async Task<HubPage<RepositoryComment>> CommentsAsync(string repository, long offset, int limit, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        using var results = await connection.QueryMultipleAsync(new CommandDefinition($"""
            SELECT {CommentColumns} FROM registry_comments WHERE repository = @repository ORDER BY id DESC LIMIT @limit OFFSET @offset;
            SELECT count(*) FROM registry_comments WHERE repository = @repository;
            """, new { repository, limit, offset }, cancellationToken: ct));
        var items = (await results.ReadAsync<RepositoryComment>()).AsList();
        return new HubPage<RepositoryComment>(items, await results.ReadSingleAsync<long>());
    }

    /// <inheritdoc />
    public async Task<bool> RemoveCommentAsync(string repository, long id, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_comments WHERE repository = @repository AND id = @id", new { repository, id }, cancellationToken: ct)) > 0;
    }

    /// <inheritdoc />
    public async Task RemoveRepositoryAsync(string repository, CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var stars = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_stars WHERE repository = @repository", new { repository }, transaction, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_comments WHERE repository = @repository", new { repository }, transaction, cancellationToken: ct));
        if (stars > 0) await RecountAsync(connection, transaction, repository, ct);
        await transaction.CommitAsync(ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, int>> AllStarCountsAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<(string Repository, int Count)>(new CommandDefinition(
            "SELECT repository, count(*) FROM registry_stars GROUP BY repository", cancellationToken: ct));
        return rows.ToDictionary(r => r.Repository, r => r.Count, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public async Task<(IReadOnlyList<RepositoryStar> Stars, IReadOnlyList<RepositoryComment> Comments)> ListAllAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenConnectionAsync(ct);
        var stars = (await connection.QueryAsync<RepositoryStar>(new CommandDefinition(
            "SELECT repository, username AS User, created FROM registry_stars ORDER BY repository, username", cancellationToken: ct))).AsList();
        var comments = (await connection.QueryAsync<RepositoryComment>(new CommandDefinition(
            $"SELECT {CommentColumns} FROM registry_comments ORDER BY id", cancellationToken: ct))).AsList();
        return (stars, comments);
    }

    /// <inheritdoc />
    public async Task ReplaceAllAsync(IReadOnlyList<RepositoryStar> stars, IReadOnlyList<RepositoryComment> comments, CancellationToken ct)
    {
        // An AUTOINCREMENT key takes the ids given, and later rows get one above the highest.
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM registry_stars; DELETE FROM registry_comments;", transaction: transaction, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO registry_stars (repository, username, created) VALUES (@Repository, @User, @Created)", stars, transaction, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO registry_comments (id, repository, username, body, created) VALUES (@Id, @Repository, @User, @Text, @Created)",
            comments, transaction, cancellationToken: ct));
        await transaction.CommitAsync(ct);
    }
}
