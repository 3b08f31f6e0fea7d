using Dapper;
using Npgsql;
using Registry.Index.Hub;

namespace Registry.Index.Database.Postgres;

/// <summary>Stars and comments in the PostgreSQL index database (the tables of <see cref="PostgresMigrations"/> version 10).</summary>
public sealed class PostgresHubStore(PostgresIndexDatabase database) : IHubStore
{
    /// <summary>
    /// Recounts the stars of a repository into its search rows (their generated sort key follows) and returns the
    /// search generation after it: the triggers of the search table log the change for every instance's counts.
    /// </summary>
    private const string RecountSql = """
        UPDATE search_repositories SET star_count = (SELECT count(*) FROM registry_stars WHERE repository = @repository)
        WHERE name IN (@Name, @OnePart);
        SELECT generation FROM search_generation WHERE id = 0;
        """;

    private const string CommentColumns = "id, repository, username AS \"User\", body AS \"Text\", created";

    /// <inheritdoc />
    public Task<bool> StarAsync(string repository, string user, CancellationToken ct) =>
        ChangeStarAsync(repository, "INSERT INTO registry_stars (repository, username, created) VALUES (@repository, @user, @created) ON CONFLICT DO NOTHING",
            user, ct);

    /// <inheritdoc />
    public Task<bool> UnstarAsync(string repository, string user, CancellationToken ct) =>
        ChangeStarAsync(repository, "DELETE FROM registry_stars WHERE repository = @repository AND username = @user", user, ct);

    private Task<bool> ChangeStarAsync(string repository, string sql, string user, CancellationToken ct) =>
        database.RunAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                sql, new { repository, user, created = DateTimeOffset.UtcNow.ToUnixTimeSeconds() }, transaction, cancellationToken: ct)) > 0;
            long? generation = changed ? await RecountAsync(connection, transaction, repository, ct) : null;
            await transaction.CommitAsync(ct);
            if (generation is { } g) database.SearchRowsWritten(g);
            return changed;
        }, ct);

    private static Task<long> RecountAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string repository, CancellationToken ct)
    {
        var (name, onePart) = HubNames.SearchRowsOf(repository);
        return connection.ExecuteScalarAsync<long>(new CommandDefinition(
            RecountSql, new { repository, Name = name, OnePart = onePart }, transaction, cancellationToken: ct));
    }

    /// <inheritdoc />
    public Task<bool> HasStarredAsync(string repository, string user, CancellationToken ct) =>
        database.RunAsync(async connection => await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM registry_stars WHERE repository = @repository AND username = @user)", new { repository, user }, cancellationToken: ct)), ct);

    /// <inheritdoc />
    public Task<(long Stars, long Comments)> CountsAsync(string repository, CancellationToken ct) =>
        database.RunAsync(async connection => await connection.QuerySingleAsync<(long, long)>(new CommandDefinition("""
            SELECT (SELECT count(*) FROM registry_stars WHERE repository = @repository),
                   (SELECT count(*) FROM registry_comments WHERE repository = @repository)
            """, new { repository }, cancellationToken: ct)), ct);

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, int>> StarCountsAsync(IReadOnlyCollection<string> repositories, CancellationToken ct)
    {
        if (repositories.Count == 0) return new Dictionary<string, int>();
        return await database.RunAsync(async connection =>
        {
            var rows = await connection.QueryAsync<(string Repository, long Count)>(new CommandDefinition(
                "SELECT repository, count(*) FROM registry_stars WHERE repository = ANY(@repositories) GROUP BY repository",
                new { repositories = repositories.ToArray() }, cancellationToken: ct));
            return (IReadOnlyDictionary<string, int>)rows.ToDictionary(r => r.Repository, r => (int)r.Count, StringComparer.Ordinal);
        }, ct);
    }

    /// <inheritdoc />
    public Task<HubPage<RepositoryStar>> StargazersAsync(string repository, long offset, int limit, CancellationToken ct) =>
        PageAsync<RepositoryStar>("""
            SELECT repository, username AS "User", created FROM registry_stars WHERE repository = @repository
            ORDER BY created, username COLLATE "C" LIMIT @limit OFFSET @offset;
            SELECT count(*) FROM registry_stars WHERE repository = @repository;
            """, new { repository, limit, offset }, ct);

    /// <inheritdoc />
    public Task<HubPage<RepositoryStar>> StarredAsync(string user, PrivateVisibility visibility, long offset, int limit, CancellationToken ct)
    {
        const string visible = """
            username = @user AND (@All OR NOT EXISTS (SELECT 1 FROM registry_private_repositories p
                WHERE p.name = registry_stars.repository AND p.namespace IS DISTINCT FROM @Namespace::text))
            """;
        return PageAsync<RepositoryStar>($"""
            SELECT repository, username AS "User", created FROM registry_stars WHERE {visible}
            ORDER BY created DESC, repository COLLATE "C" LIMIT @limit OFFSET @offset;
            SELECT count(*) FROM registry_stars WHERE {visible};
            """, new { user, visibility.All, visibility.Namespace, limit, offset }, ct);
    }

    /// <inheritdoc />
    public Task<RepositoryComment> AddCommentAsync(string repository, string user, string text, CancellationToken ct) =>
        database.RunAsync(async connection =>
        {
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "INSERT INTO registry_comments (repository, username, body, created) VALUES (@repository, @user, @text, @created) RETURNING id",
                new { repository, user, text, created }, cancellationToken: ct));
            return new RepositoryComment(id, repository, user, text, created);
        }, ct);

    /// <inheritdoc />
    public Task<RepositoryComment?> GetCommentAsync(string repository, long id, CancellationToken ct) =>
        database.RunAsync(async connection => await connection.QuerySingleOrDefaultAsync<RepositoryComment>(new CommandDefinition(
            $"SELECT {CommentColumns} FROM registry_comments WHERE repository = @repository AND id = @id", new { repository, id }, cancellationToken: ct)), ct);

    /// <inheritdoc />
    public Task<HubPage<RepositoryComment>> CommentsAsync(string repository, long offset, int limit, CancellationToken ct) =>
        PageAsync<RepositoryComment>($"""
            SELECT {CommentColumns} FROM registry_comments WHERE repository = @repository ORDER BY id DESC LIMIT @limit OFFSET @offset;
            SELECT count(*) FROM registry_comments WHERE repository = @repository;
            """, new { repository, limit, offset }, ct);

    /// <inheritdoc />
    public Task<bool> RemoveCommentAsync(string repository, long id, CancellationToken ct) =>
        database.RunAsync(async connection => await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_comments WHERE repository = @repository AND id = @id", new { repository, id }, cancellationToken: ct)) > 0, ct);

    /// <inheritdoc />
    public Task RemoveRepositoryAsync(string repository, CancellationToken ct) =>
        database.RunAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var stars = await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM registry_stars WHERE repository = @repository", new { repository }, transaction, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM registry_comments WHERE repository = @repository", new { repository }, transaction, cancellationToken: ct));
            long? generation = stars > 0 ? await RecountAsync(connection, transaction, repository, ct) : null;
            await transaction.CommitAsync(ct);
            if (generation is { } g) database.SearchRowsWritten(g);
        }, ct);

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, int>> AllStarCountsAsync(CancellationToken ct) =>
        database.RunAsync(async connection =>
        {
            var rows = await connection.QueryAsync<(string Repository, long Count)>(new CommandDefinition(
                "SELECT repository, count(*) FROM registry_stars GROUP BY repository", cancellationToken: ct));
            return (IReadOnlyDictionary<string, int>)rows.ToDictionary(r => r.Repository, r => (int)r.Count, StringComparer.Ordinal);
        }, ct);

    /// <inheritdoc />
    public Task<(IReadOnlyList<RepositoryStar> Stars, IReadOnlyList<RepositoryComment> Comments)> ListAllAsync(CancellationToken ct) =>
        database.RunAsync(async connection =>
        {
            var stars = (await connection.QueryAsync<RepositoryStar>(new CommandDefinition(
                "SELECT repository, username AS \"User\", created FROM registry_stars ORDER BY repository COLLATE \"C\", username COLLATE \"C\"",
                cancellationToken: ct))).AsList();
            var comments = (await connection.QueryAsync<RepositoryComment>(new CommandDefinition(
                $"SELECT {CommentColumns} FROM registry_comments ORDER BY id", cancellationToken: ct))).AsList();
            return ((IReadOnlyList<RepositoryStar>)stars, (IReadOnlyList<RepositoryComment>)comments);
        }, ct);

    /// <inheritdoc />
    public Task ReplaceAllAsync(IReadOnlyList<RepositoryStar> stars, IReadOnlyList<RepositoryComment> comments, CancellationToken ct) =>
        database.RunAsync(async connection =>
        {
            // The id column is GENERATED ALWAYS: kept ids need OVERRIDING SYSTEM VALUE, and the sequence then moves past them.
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM registry_stars; DELETE FROM registry_comments;", transaction: transaction, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO registry_stars (repository, username, created) VALUES (@Repository, @User, @Created)", stars, transaction, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO registry_comments (id, repository, username, body, created) OVERRIDING SYSTEM VALUE VALUES (@Id, @Repository, @User, @Text, @Created)",
                comments, transaction, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT setval(pg_get_serial_sequence('registry_comments', 'id'), COALESCE(max(id), 0) + 1, false) FROM registry_comments",
                transaction: transaction, cancellationToken: ct));
            await transaction.CommitAsync(ct);
        }, ct);

    private Task<HubPage<T>> PageAsync<T>(string sql, object parameters, CancellationToken ct) =>
        database.RunAsync(async connection =>
        {
            await using var results = await connection.QueryMultipleAsync(new CommandDefinition(sql, parameters, cancellationToken: ct));
            var items = (await results.ReadAsync<T>()).AsList();
            return new HubPage<T>(items, await results.ReadSingleAsync<long>());
        }, ct);
}
